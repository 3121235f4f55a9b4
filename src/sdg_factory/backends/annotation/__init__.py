"""Annotation (step 6): ``classical`` (reference colour/texture model + GrabCut) and ``persam_sam2``."""

from sdg_factory.backends.annotation.base import Annotator, build_annotator, register_annotator
from sdg_factory.backends.annotation.reference_mask import make_reference_mask

__all__ = ["Annotator", "build_annotator", "make_reference_mask", "register_annotator"]
