"""Typed settings: one pydantic model per parameter section of ``conf/base/parameters*.yml``.

The models only *check*: nodes still receive the parameters as Kedro resolved them, so a run
that passes the checks behaves exactly as before. Every model forbids unknown keys. Sections
that already had their own validator reuse it (``scene_settings``, ``parse_taxonomy``,
``CvAugmentConfig.from_params``, the defects ``check_settings``); backend sub-sections (a
backend's own settings, an ``editor:``) are mappings whose keys a validator checks against the
backend's constructor, as its build will (``parameter_checks/backend_settings.py``).
"""

from __future__ import annotations

import difflib
import sys
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from sdg_factory.backends.registry import Registry, check_names
from sdg_factory.parameter_checks.backend_settings import check_backend_section, check_sub_sections
from sdg_factory.paths import check_distinct, segment_problem, suggest_name

# --- value types --------------------------------------------------------------------------------


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _blank_is_none(value: Any) -> Any:
    """``null`` spelt as text on the command line (the nodes accept these too)."""
    return None if isinstance(value, str) and value.strip().lower() in ("", "null", "none") else value


def _segment(value: Any) -> Any:
    problem = segment_problem(value)
    if problem:
        hint = suggest_name("" if value is None else str(value))
        raise ValueError(f"not usable as a folder name: {problem}" + (f" (e.g. {hint!r})" if hint else ""))
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Number = Annotated[float, BeforeValidator(_not_bool)]
Count = Annotated[Int, Field(ge=0)]
Positive = Annotated[Int, Field(ge=1)]
PositiveNumber = Annotated[Number, Field(gt=0)]
NonNegative = Annotated[Number, Field(ge=0)]
Fraction = Annotated[Number, Field(ge=0, le=1)]
OptionalPositive = Annotated[Positive | None, BeforeValidator(_blank_is_none)]
OptionalCount = Annotated[Count | None, BeforeValidator(_blank_is_none)]
#: A name that becomes one folder (run_name, board, material…); ``--params board=1152819000`` is an int.
Name = Annotated[str | int, AfterValidator(_segment)]
Pair = Annotated[list[Number], Field(min_length=2, max_length=2)]
Device = str  # auto | cpu | cuda | cuda:N | mps — resolved by backends/accelerator.py


def Backend(kind: str, builtin: tuple[str, ...]) -> Any:  # noqa: N802 - a type, spelt like one
    """A backend name: one of the built-in ones, or one registered (``<KIND>.register``) in the
    registry module ``sdg_factory.backends.<kind>.base`` when that module is already imported
    (a plugin or a test registers its own; nothing is imported here)."""

    def known(value: Any) -> Any:
        module = sys.modules.get(f"sdg_factory.backends.{kind}.base")
        registered = [r.names() for r in vars(module).values() if isinstance(r, Registry)] if module else []
        allowed = sorted(set(builtin).union(*registered))
        if value not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1)
            raise ValueError(f"unknown {kind} backend {value!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else "") + f"; choose one of {allowed}")
        return value

    return Annotated[str, AfterValidator(known)]


ImageEditBackend = Backend("image_edit", ("classical", "openai_images", "openai_chat", "nim", "diffusers"))
PerspectiveBackend = Backend("perspectives", ("classical", "qwen_multicamera", "zero123"))
PromptBackend = Backend("text", ("template", "openai_chat", "transformers"))  # template: the node's own grammar
AnnotationBackend = Backend("annotation", ("classical", "persam_sam2"))
TextToImageBackend = Backend("text_to_image", ("procedural", "diffusers", "openai_images", "gemini"))
AnomalyGenerationBackend = Backend("anomaly_generation", ("procedural", "diffusers"))
AnomalyDetectionBackend = Backend("anomaly_detection", ("patch_stats", "pyimgano"))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _range(low_high: list[float], what: str) -> None:
    if low_high[0] > low_high[1]:
        raise ValueError(f"{what} must be [min, max] with min <= max, got {low_high}")


# --- pcba_setup (parameters_pcba.yml) -----------------------------------------------------------


class Routing(Section):
    enabled: StrictBool = True
    trace_width_mm: Pair = [0.15, 0.25]
    clearance_mm: NonNegative = 0.2
    via_outer_mm: PositiveNumber = 0.6
    via_drill_mm: PositiveNumber = 0.3
    max_route_mm: PositiveNumber = 6.0
    raster_px_per_mm: PositiveNumber = 20

    @model_validator(mode="after")
    def _order(self) -> Routing:
        _range(self.trace_width_mm, "trace_width_mm")
        if self.via_drill_mm >= self.via_outer_mm:
            raise ValueError(
                f"via_drill_mm ({self.via_drill_mm}) must be smaller than via_outer_mm ({self.via_outer_mm})")
        return self


class BoardLayout(Section):
    """A demo board placed cell by cell (pcb/boards.py ``layout``): ICs in every other cell,
    passives beside them, courtyards inside their cell, traces routed by ``routing``."""

    size_mm: Pair
    design_grid: Annotated[list[Positive], Field(min_length=2, max_length=2)]
    ics: list[str] = []
    passives: list[str] = []
    passives_per_cell: Annotated[list[Count], Field(min_length=2, max_length=2)] = [2, 4]
    rotations: list[Number] = [0, 90]
    courtyard_mm: NonNegative = 0.5
    routing: Routing = Routing()
    semantics_in_usd: StrictBool = True

    @model_validator(mode="after")
    def _kinds(self) -> BoardLayout:
        from sdg_factory.pcb.boards import footprint

        if not self.ics and not self.passives:
            raise ValueError("a board needs components: give 'ics' and/or 'passives'")
        _range([float(v) for v in self.passives_per_cell], "passives_per_cell")
        for kind in [*self.ics, *self.passives]:
            footprint(kind)  # an unknown package is an error naming it and the known ones
        return self


class DemoBoard(Section):
    scene_filename: Name = "spark_lighting.usd"
    layout: BoardLayout
    cookbooks: dict[Name, dict[str, Any]]

    @model_validator(mode="after")
    def _class_dirs(self) -> DemoBoard:
        crop = self.cookbooks.get("day0_crop") or {}
        class_dirs = crop.get("class_dirs") or {}
        folders = []
        for name in dict.fromkeys([*(crop.get("classes") or []), *class_dirs]):
            folder = class_dirs.get(name, name)
            problem = segment_problem(folder)
            if problem:
                raise ValueError(f"cookbooks.day0_crop.class_dirs.{name} = {folder!r} is not usable as a "
                                 f"folder name: {problem}")
            folders.append((f"cookbooks.day0_crop.class_dirs.{name}", folder))
        check_distinct(folders, "material folders")
        return self


class RawDefects(Section):
    materials: Annotated[list[Name], Field(min_length=1)]
    defects: dict[Name, Literal["cad", "free", "text"]]
    per_defect: Positive
    size: Annotated[Int, Field(ge=8)]

    @model_validator(mode="after")
    def _distinct(self) -> RawDefects:
        check_distinct([(f"materials[{i}]", m) for i, m in enumerate(self.materials)], "materials")
        return self


class BlenderRender(Section):
    blender_python: Annotated[str, Field(min_length=1)] = ".venv-blender/bin/python"
    samples: Positive = 32
    denoise: StrictBool = True
    device: Literal["auto", "cpu", "gpu"] = "auto"
    light: Literal["ring", "coaxial", "ring+coaxial"] = "ring"
    light_strength: NonNegative = 5.0
    ring_elevation_deg: Annotated[Number, Field(gt=0, le=90)] = 35
    dome_strength: NonNegative = 0.5
    timeout_s: PositiveNumber = 600


class PcbaRender(Section):
    blender: BlenderRender = BlenderRender()


class PcbaSetup(Section):
    boards: dict[Name, DemoBoard]
    raw_defects: RawDefects


# --- pcba_restyle (parameters_pcba_restyle.yml) -------------------------------------------------


class Registration(Section):
    max_shift_px: Count
    max_rotation_deg: NonNegative
    rotation_step_deg: PositiveNumber
    min_score: Annotated[Number, Field(ge=-1, le=1)]


class RestyleCookbook(Section):
    """The image-edit cookbook (persisted as augment/augmentation_config_ovsl2sl.yaml)."""

    prompt: Annotated[str, Field(min_length=1)]
    negative_prompt: str | None = None
    steps: OptionalPositive = None
    guidance: Annotated[NonNegative | None, BeforeValidator(_blank_is_none)] = None
    seed: OptionalCount = None


class PcbaRestyle(Section):
    cookbook: RestyleCookbook
    backends: dict[ImageEditBackend, dict[str, Any] | None]
    registration: Registration

    @model_validator(mode="after")
    def _backend_keys(self) -> PcbaRestyle:
        from sdg_factory.imaging.restyle import RestyleStyle

        check_sub_sections("image_edit", self.backends, "pcba_restyle.backends")
        style = (self.backends.get("classical") or {}).get("style")
        if isinstance(style, dict):
            RestyleStyle.from_config(style, "pcba_restyle.backends.classical.style")
        return self


# --- reference_object (parameters_reference_object.yml) -----------------------------------------


class Editor(BaseModel):
    """An ``editor:`` block: ``backend`` plus that backend's own keys (checked against its constructor)."""

    model_config = ConfigDict(extra="allow")
    backend: ImageEditBackend = "classical"

    @model_validator(mode="after")
    def _backend_keys(self) -> Editor:
        check_backend_section("image_edit", self.model_dump(), "editor")
        return self


class EditorStep(Section):
    editor: Editor


class WhiteBackground(EditorStep):
    prompt: str


class SceneStep(EditorStep):
    size: Annotated[list[Positive], Field(min_length=2, max_length=2)] = [640, 480]


class ReferenceMask(Section):
    backend: Literal["classical", "sam2"] = "classical"
    point: Annotated[list[Number], Field(min_length=2, max_length=2)] | None = None
    sam2: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _point_needs_sam2(self) -> ReferenceMask:
        if self.point is not None and self.backend != "sam2":
            raise ValueError("reference_mask.point is used only by reference_mask.backend=sam2 (the classical "
                             "mask ignores it); set reference_object.reference_mask.backend=sam2 too")
        return self

    @model_validator(mode="after")
    def _sam2_keys(self) -> ReferenceMask:
        from sdg_factory.backends.annotation.sam2_models import sam2_options

        if self.sam2 is not None:
            sam2_options(self.sam2, "reference_object.reference_mask.sam2")
        return self


class Perspectives(Section):
    views: Annotated[list[str], Field(min_length=1)]
    classical: dict[str, Any] | None = None
    qwen_multicamera: dict[str, Any] | None = None
    zero123: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _backend_keys(self) -> Perspectives:
        check_sub_sections("perspectives", self.model_dump(exclude={"views"}), "reference_object.perspectives")
        return self


class Prompts(Section):
    backend: PromptBackend = "template"
    openai_chat: dict[str, Any] | None = None
    transformers: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _backend_keys(self) -> Prompts:
        check_sub_sections("text", self.model_dump(exclude={"backend"}), "reference_object.prompts")
        return self


class Annotation(BaseModel):
    """``backend``, ``batch_size``, ``min_part_area`` and the backend's own keys (checked as
    ``build_annotator`` checks them, by ``annotator_options``)."""

    model_config = ConfigDict(extra="allow")
    backend: AnnotationBackend = "classical"
    batch_size: Positive = 8
    min_part_area: NonNegative = 12
    grabcut_margin: NonNegative | None = None  # classical: GrabCut on the box grown by this, null = whole image

    @model_validator(mode="after")
    def _backend_keys(self) -> Annotation:
        from sdg_factory.backends.annotation.base import annotator_options
        from sdg_factory.backends.annotation.sam2_models import sam2_options
        from sdg_factory.pipelines.reference_object.nodes import NODE_ANNOTATION_KEYS

        config = {k: v for k, v in self.model_dump().items() if k not in NODE_ANNOTATION_KEYS}
        annotator_options(config, "reference_object.annotation")  # what step 6 builds its annotator from
        if isinstance(config.get("sam2"), dict):
            sam2_options(config["sam2"], "reference_object.annotation.sam2")
        return self


class ReferenceObject(Section):
    run_name: Name
    input_image: str
    input_mask: str
    project_info_file: str
    predefined_prompts_file: str
    background_folder: str
    object_name: Annotated[str, Field(min_length=1)]
    reference_mask: ReferenceMask = ReferenceMask()
    white_background: WhiteBackground
    perspective_generator: PerspectiveBackend = "classical"
    perspectives: Perspectives
    num_prompts: Positive
    num_iterations: Positive
    prompts: Prompts
    scene: SceneStep
    enable_qwen_augmentation: StrictBool
    qwen_augmentation_count: Count
    augmentation: EditorStep
    enable_annotation: StrictBool
    split_ratio: Fraction
    annotation: Annotation
    enable_cv_augmentation: StrictBool
    cv_augmentation_count: Count
    bw_probability: Fraction
    saturation_probability: Fraction
    contrast_probability: Fraction
    brightness_probability: Fraction
    motion_blur_probability: Fraction
    compression_noise_probability: Fraction
    saturation_range: Pair
    contrast_range: Pair
    brightness_range: Pair
    motion_blur_range: Pair
    compression_iterations_range: Pair
    compression_quality_range: Pair
    max_retries: Count

    @model_validator(mode="after")
    def _cv_ranges(self) -> ReferenceObject:
        from sdg_factory.imaging.cv_augment import CvAugmentConfig

        CvAugmentConfig.from_params(self.model_dump())  # its own checks: [low, high], quality in [1, 100]
        return self


# --- scene_generation (parameters_scene_generation.yml) -----------------------------------------


class SceneImage(BaseModel):
    model_config = ConfigDict(extra="allow")  # the backend's own keys (checked as TEXT_TO_IMAGE.build_from does)
    backend: TextToImageBackend = "procedural"
    width: Positive = 2048
    height: Positive = 1152

    @model_validator(mode="after")
    def _backend_keys(self) -> SceneImage:
        check_backend_section("text_to_image", self.model_dump(), "scene_generation.image",
                              node_keys=("width", "height"))
        return self


class ScenePrompts(BaseModel):
    model_config = ConfigDict(extra="allow")  # the backend's own keys (checked as TEXT_GENERATORS.build_from does)
    backend: PromptBackend = "template"
    recent_history: Count = 20
    max_attempts: Positive = 4
    style: str = ""
    negative_prompt: str = ""

    @model_validator(mode="after")
    def _backend_keys(self) -> ScenePrompts:
        from sdg_factory.pipelines.scene_generation.prompts import NODE_PROMPT_KEYS

        config = self.model_dump()
        if self.backend == "template":  # the node's own grammar: no backend settings to take
            check_names({k: v for k, v in config.items() if not isinstance(v, dict)},
                        {*type(self).model_fields, *NODE_PROMPT_KEYS}, "scene_generation.prompts (template backend)")
            check_sub_sections("text", config, "scene_generation.prompts")
        else:
            check_backend_section("text", config, "scene_generation.prompts", node_keys=NODE_PROMPT_KEYS)
        return self


class SceneGeneration(Section):
    scenes_per_run: Count
    archetypes: list[str] | str | None = None
    dry_run: bool | str = False
    lookback_days: NonNegative
    exploration: NonNegative
    now: Any = None
    ready_for: list[str] | str | None = None
    prompts: ScenePrompts
    image: SceneImage
    archetype_definitions: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _own_checks(cls, data: Any) -> Any:
        from sdg_factory.pipelines.scene_generation.settings import scene_settings

        if isinstance(data, dict):
            scene_settings(data)  # archetype definitions, the archetypes filter, dry_run, now
        return data


# --- structural_defect (parameters_structural_defect.yml) ---------------------------------------


class StructuralMode(Section):
    enabled: StrictBool = True
    count: OptionalCount = None
    classes: list[str] | None = None


class ShiftMode(StructuralMode):
    translate_mm: Pair
    rotate_deg: Pair

    @model_validator(mode="after")
    def _ranges(self) -> ShiftMode:
        _range(self.translate_mm, "translate_mm")
        _range(self.rotate_deg, "rotate_deg")
        return self


class TombstoneMode(StructuralMode):
    lift_deg: Pair

    @model_validator(mode="after")
    def _ranges(self) -> TombstoneMode:
        _range(self.lift_deg, "lift_deg")
        return self


class SideflipMode(StructuralMode):
    roll_deg: Pair
    min_aspect_change: NonNegative = 0.0

    @model_validator(mode="after")
    def _ranges(self) -> SideflipMode:
        _range(self.roll_deg, "roll_deg")
        return self


class StructuralModes(Section):
    shift: ShiftMode | None = None
    tombstone: TombstoneMode | None = None
    sideflip: SideflipMode | None = None


class StructuralDefect(Section):
    fixed_classes: list[str] | None
    modes: StructuralModes


# --- texture_defect_day0 (parameters_texture_defect_day0.yml) -----------------------------------


class InpaintCall(Section):
    resolution: Annotated[Int, Field(ge=8)] = 512
    num_inference_steps: Positive = 30
    guidance_scale: NonNegative = 7.5
    strength: Fraction = 1.0
    device: Device = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"


class Finetune(Section):
    inference_backend: AnomalyGenerationBackend = "diffusers"
    method: Literal["lora", "full"] = "lora"
    steps: Positive = 1000
    learning_rate: PositiveNumber = 1e-4
    batch_size: Positive = 4
    resolution: Annotated[Int, Field(ge=8)] = 512
    lora_rank: Positive = 8
    validation_fraction: Annotated[Number, Field(ge=0, lt=1)] = 0.2
    device: Device = "auto"
    mixed_precision: Literal["auto", "bf16", "no"] = "auto"
    log_every: Positive = 50


class TextureDefectDay0(Section):
    backend: AnomalyGenerationBackend = "procedural"
    num_sdg: OptionalPositive = None
    prompts: dict[str, str] = {}
    negative_prompt: str = ""
    diffusers: InpaintCall = InpaintCall()
    finetune: Finetune = Finetune()


# --- anomaly_detection / defects_export ---------------------------------------------------------


class Detector(BaseModel):
    model_config = ConfigDict(extra="allow")  # each backend's section (checked as build_anomaly_detector does)
    backend: AnomalyDetectionBackend = "patch_stats"

    @model_validator(mode="after")
    def _backend_keys(self) -> Detector:
        check_backend_section("anomaly_detection", self.model_dump(), "anomaly_detection.detector")
        return self


class AnomalyDetection(Section):
    detector: Detector
    holdout_fraction: Annotated[Number, Field(ge=0, lt=1)] = 0.25
    exclude_defect_bases: StrictBool = True
    min_fit_images: Positive = 2
    score_top_fraction: Annotated[Number, Field(gt=0, le=1)] = 0.01


class DefectsExport(BaseModel):
    """The document's flags (checked by ``defects.config.check_settings``) plus evaluation keys."""

    model_config = ConfigDict(extra="allow")
    image_threshold: Number | None = None
    image_normal_quantile: Fraction = 0.99
    aupro_fpr_limit: Annotated[Number, Field(gt=0, le=1)] = 0.3
    region_min_coverage: Fraction = 0.1

    @model_validator(mode="after")
    def _flags(self) -> DefectsExport:
        from sdg_factory.defects.config import check_settings

        check_settings(dict(self.model_extra or {}), "defects_export")
        return self


class LabelledF1(Section):
    threshold_candidates: Positive = 64
    min_area_candidates: list[Count] = [0, 2, 4, 8, 16, 32, 64]


class DefectsInfer(Section):
    """``defects_infer``: the detector, its calibration and the document's flags."""

    detector: Literal["golden_template", "patch_stats", "pyimgano"] = "golden_template"
    detectors: dict[Literal["golden_template", "patch_stats", "pyimgano"], dict[str, Any]] = {}
    holdout_fraction: Annotated[Number, Field(ge=0, lt=1)] = 0.25
    defects: dict[str, Any] = {}
    labelled_f1: LabelledF1 = LabelledF1()
    iou_threshold: Annotated[Number, Field(gt=0, lt=1)] = 0.33
    image_threshold: Number | None = None
    image_normal_quantile: Fraction = 0.99
    score_top_fraction: Annotated[Number, Field(gt=0, le=1)] = 0.01
    aupro_fpr_limit: Annotated[Number, Field(gt=0, le=1)] = 0.3

    @model_validator(mode="after")
    def _flags(self) -> DefectsInfer:
        from sdg_factory.defects.config import check_settings

        check_settings(self.defects, "defects_infer.defects")
        return self

    @model_validator(mode="after")
    def _backend_keys(self) -> DefectsInfer:
        check_sub_sections("anomaly_detection", self.detectors, "defects_infer.detectors")
        return self


class BareBoardDefects(BaseModel):
    """``bare_board_defects``: checked by the pipeline's own settings class (close matches, ranges)."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _settings(self) -> BareBoardDefects:
        from sdg_factory.pipelines.bare_board_defects.nodes import BareBoardSettings

        settings = BareBoardSettings.from_params(dict(self.model_extra or {}))
        settings.rules(), settings.nuisance_model()
        return self


# --- the whole parameters tree ------------------------------------------------------------------


class Parameters(Section):
    """Top level: the keys every pipeline shares, the document-named workflow keys, one section
    per pipeline."""

    run_name: Name
    board: Name
    seed: Count
    dig_url_root: Annotated[str, Field(min_length=1)]
    scene_filename: Name = "spark_lighting.usd"
    render_patches: OptionalPositive = None
    crop_max_emit: OptionalPositive = None
    render_dir: str | None = None
    render_backend: Literal["rasterizer", "blender"] = "rasterizer"
    pcba_render: PcbaRender | None = None
    # re-runs (docs/reruns.md; rerun_hooks.py checks the values and says what each means)
    execution_mode: Literal["by_name", "new", "last"] = "by_name"
    recompute: str | list[str] | None = None
    start_from_step: OptionalPositive = None
    image_edit_backend: ImageEditBackend = "classical"
    image_edit_endpoint: str = ""
    image_edit_model: str = ""
    anomaly_types_json: str | list = ""
    pcba_setup: PcbaSetup | None = None
    pcba_restyle: PcbaRestyle | None = None
    reference_object: ReferenceObject | None = None
    scene_generation: SceneGeneration | None = None
    structural_defect: StructuralDefect | None = None
    texture_defect_day0: TextureDefectDay0 | None = None
    anomaly_detection: AnomalyDetection | None = None
    defects_export: DefectsExport | None = None
    defects_infer: DefectsInfer | None = None
    bare_board_defects: BareBoardDefects | None = None

    @model_validator(mode="after")
    def _taxonomy(self) -> Parameters:
        from sdg_factory.pipelines.texture_defect_day0.nodes import parse_taxonomy

        if self.anomaly_types_json not in ("", None):
            try:
                parse_taxonomy(self.anomaly_types_json)
            except RuntimeError as exc:  # PreflightError: the document's wording, kept
                raise ValueError(f"anomaly_types_json: {exc}") from None
        return self
