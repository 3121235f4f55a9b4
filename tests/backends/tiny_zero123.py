"""A tiny random-weight Zero123++-like model folder and its local ``custom_pipeline`` code.

``PIPELINE_FOLDER`` holds ``pipeline.py`` (what ``perspectives.zero123.custom_pipeline`` points
at); :func:`save_tiny_zero123` builds the components from configs and ``save_pretrained``s the
model folder (what ``perspectives.zero123.model_path`` points at). No hub access.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PIPELINE_FOLDER = Path(__file__).parent / "tiny_zero123plus"


def _pipeline_class():
    spec = importlib.util.spec_from_file_location("tiny_zero123plus_pipeline", PIPELINE_FOLDER / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TinyZero123PlusPipeline


def save_tiny_zero123(folder: str | Path, seed: int = 0) -> Path:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
                       block_out_channels=(8, 16), norm_num_groups=8,
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))
    torch.manual_seed(seed)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                        layers_per_block=1, norm_num_groups=8,
                        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"))
    scheduler = DDIMScheduler(num_train_timesteps=100)
    pipe = _pipeline_class()(vae=vae, unet=unet, scheduler=scheduler)
    pipe.save_pretrained(str(folder))
    return Path(folder)
