"""Annotation (step 6): ``classical`` (reference colour/texture model + GrabCut) and ``persam_sam2``."""

from sdg_factory.backends.annotation.base import ANNOTATORS, Annotator, build_annotator
from sdg_factory.backends.annotation.reference_mask import make_reference_mask

__all__ = ["ANNOTATORS", "Annotator", "build_annotator", "make_reference_mask"]
