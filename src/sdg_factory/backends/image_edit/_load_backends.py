"""Importing this module registers every image-edit backend that exists."""

import importlib

for _module in ("classical", "endpoints", "diffusers_local"):
    try:
        importlib.import_module(f"sdg_factory.backends.image_edit.{_module}")
    except ModuleNotFoundError as exc:  # a backend module not written yet
        if exc.name != f"sdg_factory.backends.image_edit.{_module}":
            raise
