"""``transformers``: a local causal language model folder (``AutoModelForCausalLM``).

``from_pretrained(model_path)`` of the model and its tokenizer, once per process; the chat
is formatted with the tokenizer's chat template when it has one, else as plain
``role: content`` lines. Sampling is seeded per call without touching global random state.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sdg_factory.backends.accelerator import ModelCache, best_device, torch_dtype

logger = logging.getLogger(__name__)

MODELS = ModelCache("text.transformers", scope="run")


def load_causal_lm(model_path: str, device: str = "auto", dtype: str | None = "auto"):
    """``(model, tokenizer)`` for ``model_path``, loaded once per process."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = best_device(device)
    key = (os.path.abspath(model_path), device, str(dtype))

    def load():
        if not os.path.isfile(os.path.join(model_path, "config.json")):
            raise FileNotFoundError(
                f"no transformers model at {model_path!r} (config.json missing); point the prompt "
                "backend's model_path at a local model folder (e.g. one saved with save_pretrained)")
        resolved = torch_dtype(dtype, device, "prompts.transformers.dtype")
        logger.info("loading causal LM from %s on %s", model_path, device)
        tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True, dtype=resolved)
        model.to(device).eval()
        return model, tokenizer

    return MODELS.get(key, load)


def unload_text_models() -> int:
    return MODELS.unload()


def format_chat(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text: the tokenizer's chat template if it has one, else ``role: content`` lines."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


class TransformersChat:
    name = "transformers"

    def __init__(self, model_path: str, device: str = "auto", dtype: str | None = "auto",
                 top_p: float = 0.95) -> None:
        self.model_path = str(model_path)
        self.device = device
        self.dtype = dtype
        self.top_p = float(top_p)

    def health_check(self) -> None:
        if not os.path.isfile(os.path.join(self.model_path, "config.json")):
            raise FileNotFoundError(
                f"no transformers model at {self.model_path!r} (config.json missing); set model_path "
                "to a local folder holding the model and its tokenizer")

    def generate(self, messages: list[dict[str, str]], *, seed: int = 0, max_tokens: int = 256,
                 temperature: float = 0.8) -> str:
        import torch

        model, tokenizer = load_causal_lm(self.model_path, self.device, self.dtype)
        text = format_chat(tokenizer, messages)
        inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        sample = float(temperature) > 0
        args: dict[str, Any] = {"max_new_tokens": int(max_tokens), "do_sample": sample, "pad_token_id": pad}
        if sample:
            args.update(temperature=float(temperature), top_p=self.top_p)
        devices = [model.device] if model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(int(seed) % 2**63)
            output = model.generate(**inputs, **args)
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        return tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
