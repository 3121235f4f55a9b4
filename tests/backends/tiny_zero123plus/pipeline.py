"""A stand-in for the Zero123++ ``custom_pipeline`` code (``zero123plus-pipeline/pipeline.py``).

diffusers loads this file through ``DiffusionPipeline.from_pretrained(model_folder,
custom_pipeline=<this folder>, trust_remote_code=True)``, as it loads the real one. Its
components (a tiny ``UNet2DModel``, ``AutoencoderKL`` and ``DDIMScheduler``, random weights) come
from the model folder. Like Zero123++ v1.2 it answers one image with ``.images[0]``: a PIL grid of
3 rows × 2 columns of views on a flat grey backdrop. Each tile is the input's object (its
non-white pixels) seen "from another side" (mirrored for the left-hand poses), textured by the
seeded denoising of the tiny UNet decoded by the tiny VAE, so the output depends on the image,
the seed and the loaded weights.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, ImagePipelineOutput, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

TILE = 64          # pixels per tile side (Zero123++ v1.2: 320)
GREY = 128         # the backdrop value of the grid


class TinyZero123PlusPipeline(DiffusionPipeline):
    def __init__(self, vae: AutoencoderKL, unet: UNet2DModel, scheduler: DDIMScheduler) -> None:
        super().__init__()
        self.register_modules(vae=vae, unet=unet, scheduler=scheduler)
        self.calls = 0  # how many grids this instance rendered (the tests read it)

    @torch.no_grad()
    def __call__(self, image: Image.Image, num_inference_steps: int = 28,
                 generator: torch.Generator | None = None) -> ImagePipelineOutput:
        self.calls += 1
        rgb = np.asarray(image.convert("RGB").resize((TILE, TILE), Image.BILINEAR)).astype(np.float32)
        object_mask = (255.0 - rgb).max(axis=2) > 24

        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        shape = (1, self.unet.config.in_channels, 3 * TILE // factor, 2 * TILE // factor)
        latents = randn_tensor(shape, generator=generator, device=self.device, dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.scheduler.timesteps:
            noise = self.unet(latents, t).sample
            latents = self.scheduler.step(noise, t, latents).prev_sample
        texture = self.vae.decode(latents / self.vae.config.scaling_factor).sample[0]
        texture = ((texture.float().clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).cpu().numpy()

        grid = np.full((3 * TILE, 2 * TILE, 3), GREY, np.float32)
        for i in range(6):
            r, c = divmod(i, 2)
            tile_rgb, tile_mask = (rgb, object_mask) if i < 3 else (rgb[:, ::-1], object_mask[:, ::-1])
            cell = grid[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
            tex = texture[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
            cell[tile_mask] = 0.8 * tile_rgb[tile_mask] + 0.2 * tex[tile_mask]
        return ImagePipelineOutput(images=[Image.fromarray(np.clip(grid + 0.5, 0, 255).astype(np.uint8))])
