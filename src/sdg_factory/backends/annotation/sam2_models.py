"""SAM2 through the ``sam2`` package: build once per (config, checkpoint, device), reuse.

``config`` is a config name inside the package (``configs/sam2.1/sam2.1_hiera_t.yaml``) and
``checkpoint`` a local ``.pt`` file; with no checkpoint the model keeps its random
initialisation (what the tests use: the same code path, no download).
"""

from __future__ import annotations

from pathlib import Path

from sdg_factory.backends.accelerator import ModelCache, best_device

PREDICTORS = ModelCache("annotation.sam2", scope="run")


def load_sam2_predictor(config: str = "configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint: str | None = None,
                        device: str = "auto", image_size: int | None = None):
    """A ``SAM2ImagePredictor``; ``image_size`` (a multiple of 32) overrides the config's 1024
    input side (the checkpoints are trained at 1024; smaller is faster, e.g. on CPU)."""
    device = best_device(device)
    if checkpoint and not Path(checkpoint).is_file():
        raise FileNotFoundError(
            f"SAM2 checkpoint {checkpoint!r} does not exist. Put the .pt file there (e.g. "
            "sam2.1_hiera_tiny.pt) or set 'annotation.sam2.checkpoint' to its path; "
            "nothing is downloaded at run time."
        )
    key = (config, checkpoint or None, device, image_size)

    def load():
        from sam2.build_sam import build_sam2
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        overrides = [f"++model.image_size={int(image_size)}"] if image_size else []
        model = build_sam2(config, ckpt_path=checkpoint or None, device=device, mode="eval",
                           hydra_overrides_extra=overrides)
        predictor = SAM2ImagePredictor(model)
        side = int(model.image_size)
        # the predictor's feature-map sizes assume 1024; keep them in step with the input side
        predictor._bb_feat_sizes = [(side // 4, side // 4), (side // 8, side // 8), (side // 16, side // 16)]
        return predictor

    return PREDICTORS.get(key, load)


def sam2_options(sam2: dict | None, section: str) -> dict:
    """The ``sam2`` sub-section (``config``, ``checkpoint``, ``device``, ``image_size``), checked:
    a misspelt key is an error naming ``section``."""
    from sdg_factory.backends.registry import check_keys

    options = dict(sam2 or {})
    check_keys(load_sam2_predictor, options, section)
    return options


def unload_sam2() -> int:
    return PREDICTORS.unload()
