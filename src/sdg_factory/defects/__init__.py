"""Industrial defects export: anomaly map → binary mask + regions, with an auditable threshold.

Plain functions over numpy arrays, used by the ``defects_export`` pipeline and importable on
their own::

    from sdg_factory.defects import extract_defects, resolve_pixel_threshold

    thr, provenance = resolve_pixel_threshold(calibration_maps=normal_maps)
    defects = extract_defects(anomaly_map, pixel_threshold=thr, min_area=4)
    defects["regions"], defects["mask"]
"""

from sdg_factory.defects.config import (
    DEFAULTS,
    DefectsConfigError,
    defects_block,
    export_infer_config,
    merge_settings,
    settings_from_infer_config,
)
from sdg_factory.defects.extract import (
    check_roi,
    defects_record,
    extract_defects,
    fill_mask_holes,
    postprocess_mask,
    roi_rect,
)
from sdg_factory.defects.threshold import (
    PixelThresholdError,
    ResolvedPixelThreshold,
    infer_config_pixel_threshold,
    resolve_pixel_threshold,
)

__all__ = [
    "DEFAULTS",
    "DefectsConfigError",
    "PixelThresholdError",
    "ResolvedPixelThreshold",
    "check_roi",
    "defects_block",
    "defects_record",
    "export_infer_config",
    "extract_defects",
    "fill_mask_holes",
    "infer_config_pixel_threshold",
    "merge_settings",
    "postprocess_mask",
    "resolve_pixel_threshold",
    "roi_rect",
    "settings_from_infer_config",
]
