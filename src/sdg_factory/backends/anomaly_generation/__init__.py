"""Anomaly generation (the documents' AnomalyGen): paint a defect into a clean ROI inside a mask.

Backends: ``procedural`` (embedded default, :mod:`.procedural`) and ``diffusers`` (an
inpainting pipeline from a local checkpoint folder, :mod:`.diffusers_inpaint`); the finetune
loop for the diffusers backend is :mod:`.finetune`.
"""

from sdg_factory.backends.anomaly_generation.base import (
    AnomalyGenerationError,
    AnomalyGenerator,
    AnomalyRequest,
    build_anomaly_generator,
    register_anomaly_generator,
)

__all__ = [
    "AnomalyGenerationError",
    "AnomalyGenerator",
    "AnomalyRequest",
    "build_anomaly_generator",
    "register_anomaly_generator",
]
