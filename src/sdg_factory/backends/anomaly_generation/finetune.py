"""Finetune an inpainting pipeline on defect examples (the documents' finetune-job).

A real training loop, the one a GPU user runs: the base pipeline (``models/pretrained/…``,
any diffusers Stable-Diffusion-style inpainting pipeline: VAE, text encoder, tokenizer, a
9-channel UNet, a scheduler) is loaded from a local folder; each example is a clean ROI, a
placement mask shaped by a raw sub-mask, the defective target and its prompt. Per step:

    latents        = VAE(target) · scaling          masked = VAE(clean · (1 − mask)) · scaling
    noisy          = scheduler.add_noise(latents, ε, t)
    prediction     = UNet([noisy, mask↓, masked], t, text(prompt))
    loss           = ‖prediction − (ε or v)‖²        (the scheduler's prediction_type)

``method: lora`` trains LoRA adapters (peft) on the UNet's attention projections and merges them
before saving; ``method: full`` trains every UNet weight. The validation loss (fixed noise and
timesteps) is measured on the held-out set before and after training. The result is the whole
pipeline, saved with ``save_pretrained`` and loaded back by the ``diffusers`` backend.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from sdg_factory.backends.anomaly_generation.diffusers_inpaint import resolve_device

logger = logging.getLogger(__name__)

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


class FinetuneError(RuntimeError):
    """Training cannot start or diverged (names the setting to change)."""


@dataclass
class InpaintExample:
    clean: np.ndarray      # RGB uint8
    mask: np.ndarray       # uint8 0/255
    target: np.ndarray     # RGB uint8: the defective image
    prompt: str


def _tensors(examples: Sequence[InpaintExample], resolution: int, device: str):
    import torch

    def img(a):
        a = cv2.resize(a[..., :3], (resolution, resolution), interpolation=cv2.INTER_AREA)
        return torch.from_numpy(a).permute(2, 0, 1).float() / 127.5 - 1.0

    def msk(a):
        a = cv2.resize(a, (resolution, resolution), interpolation=cv2.INTER_NEAREST)
        return torch.from_numpy((a > 127).astype(np.float32))[None]

    clean = torch.stack([img(e.clean) for e in examples]).to(device)
    target = torch.stack([img(e.target) for e in examples]).to(device)
    mask = torch.stack([msk(e.mask) for e in examples]).to(device)
    return clean, target, mask, [e.prompt for e in examples]


class _Loss:
    """The inpainting diffusion loss of a pipeline's components."""

    def __init__(self, pipe, unet, device: str, resolution: int):
        from diffusers import DDPMScheduler

        self.pipe, self.unet, self.device, self.resolution = pipe, unet, device, resolution
        self.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.scaling = float(getattr(pipe.vae.config, "scaling_factor", 0.18215))
        self.in_channels = pipe.unet.config.in_channels
        if self.in_channels != 9:
            raise FinetuneError(f"the base UNet has {self.in_channels} input channels; an inpainting "
                                "UNet has 9 (latents, mask, masked-image latents). Put an inpainting pipeline "
                                "where the catalog entry anomaly_pretrained_model points "
                                "(<dig_url_root>/models/pretrained/inpainting).")

    def encode_text(self, prompts: list[str]):
        import torch

        tok = self.pipe.tokenizer
        ids = tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids.to(self.device)
        with torch.no_grad():
            return self.pipe.text_encoder(ids)[0]

    def __call__(self, batch: Sequence[InpaintExample], generator) -> Any:
        import torch
        import torch.nn.functional as F

        clean, target, mask, prompts = _tensors(batch, self.resolution, self.device)
        vae = self.pipe.vae
        with torch.no_grad():
            latents = vae.encode(target).latent_dist.sample(generator) * self.scaling
            masked = vae.encode(clean * (1 - mask)).latent_dist.sample(generator) * self.scaling
        mask_latent = F.interpolate(mask, size=latents.shape[-2:])
        noise = torch.randn(latents.shape, generator=generator, device="cpu").to(self.device)
        steps = torch.randint(0, self.scheduler.config.num_train_timesteps, (latents.shape[0],),
                              generator=generator, device="cpu").to(self.device)
        noisy = self.scheduler.add_noise(latents, noise, steps)
        inputs = torch.cat([noisy, mask_latent, masked], dim=1)
        prediction = self.unet(inputs, steps, encoder_hidden_states=self.encode_text(prompts)).sample
        if self.scheduler.config.prediction_type == "v_prediction":
            wanted = self.scheduler.get_velocity(latents, noise, steps)
        else:
            wanted = noise
        return F.mse_loss(prediction.float(), wanted.float())


def validation_loss(loss_fn: _Loss, examples: Sequence[InpaintExample], batch_size: int, seed: int) -> float:
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = examples[start:start + batch_size]
            total += float(loss_fn(batch, generator)) * len(batch)
            count += len(batch)
    return total / max(count, 1)


def finetune_inpainting(base_model: str, train: Sequence[Callable[[], InpaintExample]],
                        validation: Sequence[Callable[[], InpaintExample]], *, method: str = "lora",
                        steps: int = 1000, learning_rate: float = 1e-4, batch_size: int = 4,
                        resolution: int = 512, lora_rank: int = 8, seed: int = 0, device: str = "auto",
                        mixed_precision: str = "auto", log_every: int = 50,
                        max_grad_norm: float = 1.0) -> tuple[Any, dict]:
    """Train the base pipeline's UNet on ``train``; return ``(pipeline, metrics)``."""
    import torch
    from diffusers import DiffusionPipeline

    if not train:
        raise FinetuneError("no training examples: the raw dataset has no usable sub-masks for the taxonomy")
    if not validation:
        raise FinetuneError("ERROR: prep_testcase produced an empty validation.jsonl — the raw PCBA dataset "
                            "has no training masks under <MATERIAL>/mask/<defect>/")
    device = resolve_device(device)
    torch.manual_seed(seed)
    try:
        pipe = DiffusionPipeline.from_pretrained(str(base_model), dtype=torch.float32, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise FinetuneError(f"cannot load the base inpainting pipeline from {base_model}: {exc}. Put a diffusers "
                            "inpainting pipeline there, or point the catalog entry anomaly_pretrained_model "
                            "at one.") from exc
    pipe.to(device)
    pipe.vae.requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    unet = pipe.unet
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        unet.requires_grad_(False)
        config = LoraConfig(r=int(lora_rank), lora_alpha=int(lora_rank), init_lora_weights="gaussian",
                            target_modules=list(LORA_TARGETS))
        model = get_peft_model(unet, config)
    elif method == "full":
        unet.requires_grad_(True)
        model = unet
    else:
        raise FinetuneError(f"unknown finetune method {method!r} ('finetune.method'): use lora or full")
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(learning_rate), weight_decay=1e-2)
    loss_fn = _Loss(pipe, model, device, int(resolution))
    if mixed_precision not in ("auto", "bf16", "no"):
        raise FinetuneError(f"unknown mixed_precision {mixed_precision!r} ('finetune.mixed_precision'): "
                            "use auto, bf16 or no")
    amp = device.startswith("cuda") and mixed_precision in ("auto", "bf16")

    val_examples = [load() for load in validation]
    val_before = validation_loss(loss_fn, val_examples, batch_size, seed + 1)
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    losses: list[float] = []
    for step in range(int(steps)):
        picks = rng.choice(len(train), size=min(int(batch_size), len(train)), replace=len(train) < batch_size)
        batch = [train[int(i)]() for i in picks]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(batch, generator)
        if not math.isfinite(float(loss.detach())):
            raise FinetuneError(f"the training loss became {float(loss)} at step {step}; lower "
                                "'finetune.learning_rate'")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if log_every and (step % int(log_every) == 0 or step == steps - 1):
            logger.info("finetune step %d/%d: loss %.5f", step + 1, steps, losses[-1])
    model.eval()
    val_after = validation_loss(loss_fn, val_examples, batch_size, seed + 1)
    pipe.unet = model.merge_and_unload() if method == "lora" else model
    pipe.unet.requires_grad_(False)
    metrics = {"method": method, "steps": int(steps), "train_loss": losses,
               "final_train_loss": losses[-1] if losses else None,
               "validation_loss_before": val_before, "validation_loss_after": val_after,
               "train_examples": len(train), "validation_examples": len(val_examples),
               "device": device, "resolution": int(resolution),
               "trainable_parameters": int(sum(p.numel() for p in params))}
    return pipe.to("cpu"), metrics
