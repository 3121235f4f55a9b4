"""Anomaly generation (the documents' AnomalyGen): paint a defect into a clean ROI inside a mask.

Backends: ``procedural`` (embedded default, :mod:`.procedural`) and ``diffusers`` (an
inpainting pipeline from a local checkpoint folder, :mod:`.diffusers_inpaint`); the finetune
loop for the diffusers backend is :mod:`.finetune`.
"""

from sdg_factory.backends.anomaly_generation.base import (
    ANOMALY_GENERATORS,
    AnomalyGenerationError,
    AnomalyGenerator,
    AnomalyRequest,
)

__all__ = ["ANOMALY_GENERATORS", "AnomalyGenerationError", "AnomalyGenerator", "AnomalyRequest"]
