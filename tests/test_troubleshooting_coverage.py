"""docs/troubleshooting.md covers every error the project raises for user input.

The sources are parsed with ``ast``; every ``raise SomeError(<message>)`` in ``src/sdg_factory``
whose message is a string, an f-string, a concatenation of those (or a local variable / a
same-module helper function holding one) gives a *key*: the first constant fragment of the
message (the text between two placeholders) that has words (a space) and is at least ``MIN_KEY``
characters long once normalised, else its longest fragment; cut to ``MAX_KEY`` characters at a
word boundary. Each key must appear in the troubleshooting page, unless
the raise is in ``INTERNAL`` below, with the reason a user cannot cause it (or sees it through
another, documented message).

In the other direction, every backticked message in the page's tables must still exist in the
sources, so the page cannot keep entries for messages that were reworded or removed.

Normalisation (both sides): quotes and backticks are dropped, ``\\|`` (a pipe escaped in a
Markdown table) becomes ``|``, and whitespace runs become one space.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "sdg_factory"
DOC = ROOT / "docs" / "troubleshooting.md"
PLACEHOLDER = "\x00"
MIN_KEY = 12
MAX_KEY = 60
EDGE = " .,;:!?-—"

# (module path relative to src/sdg_factory, exception class, key) -> why it is not on the page.
INTERNAL: dict[tuple[str, str, str | None], str] = {
    ("imaging/grabcut.py", "SingularColourModel", "colour model component"):
        "OpenCV's CV_Assert on a singular colour model, mirrored; segmentation._grabcut catches it "
        "(like cv2.error) and keeps the seeds",
    ("backends/render/blender_scan.py", "RuntimeError", "render before scene: send an op: scene request first"):
        "protocol order inside the Blender subprocess; the render backend always sends the scene first",
    ("datasets/partitions.py", "NotImplementedError", None):
        "abstract methods of the partition-folder base class; every dataset the catalog names overrides them",
    ("backends/image_edit/endpoints.py", "NotImplementedError", None):
        "abstract request method of the HTTP image-edit base class; each registered route overrides it",
    ("pipelines/reference_object/nodes.py", "AssertionError", "unreachable"):
        "after the retry loop, which either returns or raises the documented 'failed after' error",
    ("backends/image_edit/endpoints.py", "ImageEditError", None):
        "prefixes the backend name to an EndpointError whose own message is documented (Backends)",
    ("backends/image_edit/classical.py", "ImageEditError", None):
        "re-raises a compositing error's text unchanged as the editor's error; that message is documented",
    ("datasets/item_parts.py", "SharedItemError", None):
        "repeats in each other folder the error of the task that computed an item's parts (documented where raised)",
    ("datasets/image.py", "DatasetError", None):
        "re-raises the image codec's documented 'cannot decode image' message as Kedro's dataset error",
    ("datasets/__init__.py", "AttributeError", "has no attribute"):
        "Python's own error for a name the package does not export (PEP 562 lazy attributes)",
    ("backends/accelerator.py", "ValueError", "is not one of"):
        "a backend module's own cache declaration (step or run); no parameter sets a cache scope",
    ("backends/text_to_image/gemini.py", "TextToImageError", None):
        "re-raises an EndpointError's text unchanged; that message is documented (Backends)",
    ("backends/text_to_image/openai_images.py", "TextToImageError", None):
        "re-raises an EndpointError's text unchanged; that message is documented (Backends)",
    ("defects/config.py", "KeyError", None):
        "dispatch fallback after the unknown-setting check, which already rejected every unknown key",
    ("defects/config.py", "TypeError", "expected true or false"):
        "value check caught by check_settings and shown inside 'defects setting … is invalid: …'",
    ("defects/config.py", "ValueError", "expected a whole number >= 0"):
        "value check caught by check_settings and shown inside 'defects setting … is invalid: …'",
    ("defects/config.py", "ValueError", "expected a finite number"):
        "value check caught by check_settings and shown inside 'defects setting … is invalid: …'",
    ("defects/config.py", "ValueError", "expected a number in (0, 1]"):
        "value check caught by check_settings and shown inside 'defects setting … is invalid: …'",
    ("defects/config.py", "ValueError", "expected one of"):
        "value check caught by check_settings and shown inside 'defects setting … is invalid: …'",
    ("defects/metrics.py", "ValueError", "ROC needs positives and negatives, got"):
        "the evaluation draws a ROC curve only when its AUROC exists, i.e. both classes are present",
    ("defects/metrics.py", "ValueError", "the PRO curve needs at least one ground-truth region and"):
        "the evaluation draws the PRO curve only when AUPRO exists, i.e. regions and normal pixels exist",
    ("backends/anomaly_detection/patch_stats.py", "RuntimeError",
     "patch_stats: call fit() on good images before asking for"):
        "API order inside the anomaly_detection nodes, which always fit before scoring",
    ("backends/anomaly_detection/patch_stats.py", "RuntimeError",
     "patch_stats: call fit() on good images before saving the"):
        "API order inside defects_infer, which saves a detector only after fitting it",
    ("backends/anomaly_detection/golden_template.py", "ValueError",
     "golden_template compares each image with its golden: got"):
        "call contract; defects_infer always passes one golden per image (a missing golden is a documented item error)",
    ("datasets/detector_model.py", "DatasetError", "detector array"):
        "the detectors' own state arrays are numeric; guards the no-pickle rule against a future backend",
    ("datasets/item_failures.py", "DatasetError", "saves a list of {id, file, error} records, got"):
        "a node's return contract; collect_failures always returns a list",
    ("datasets/masked_images.py", "TypeError", "a MaskedImageFolder item is a dict with image (and optional"):
        "a node's return contract; the project's nodes always return {'image', 'mask'} items",
    ("imaging/codecs.py", "ValueError", "OpenCV could not encode an image of shape"):
        "OpenCV failing to encode an array the project itself built (uint8 RGB/RGBA/gray)",
    ("imaging/cv_augment.py", "ValueError", "OpenCV could not JPEG-encode the image"):
        "OpenCV failing to encode an array the project itself built (uint8 RGB)",
    ("imaging/cv_augment.py", "ValueError", "unknown CV augmentation op"):
        "ops are drawn by the project's own planner from a fixed list, never read from configuration",
}

# Messages that are not built at the raise site: (module, exception class) -> a literal of the
# message that the page must carry (and that must exist in that module's source).
BUILT_ELSEWHERE: dict[tuple[str, str], str] = {
    # raised by the run hook; the message is assembled in PartitionFailuresError.__init__
    ("hooks.py", "PartitionFailuresError"): "partition(s) failed; everything else was written",
}


def normalise(text: str) -> str:
    text = text.replace("\\|", "|")
    text = re.sub(r"[\"'`]", "", text)
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class Raise:
    module: str
    line: int
    error: str
    message: str | None  # constant text with PLACEHOLDER for every interpolated part

    @property
    def fragments(self) -> list[str]:
        if self.message is None:
            return []
        parts = re.split(rf"{PLACEHOLDER}|%[-#0-9.]*[sdrfi]", self.message)
        return [normalise(p).strip(EDGE) for p in parts]

    @property
    def key(self) -> str | None:
        frags = [f for f in self.fragments if f]
        if not frags:
            return None
        key = next((f for f in frags if len(f) >= MIN_KEY and " " in f), max(frags, key=len))
        if len(key) > MAX_KEY:  # a recognisable prefix is enough; the page may elide the rest with …
            key = key[:MAX_KEY].rsplit(" ", 1)[0]
        return key.strip(EDGE)

    @property
    def where(self) -> str:
        return f"src/sdg_factory/{self.module}:{self.line} raise {self.error}({self.message!r})"


def _module_constants() -> dict[str, str]:
    """Module-level ``UPPER_CASE = "text"`` constants of the package (a name defined twice with
    different values is left out), so that ``f"{ASSETS}/{board}"`` reads ``datasets/pcb/assets/<>``."""
    seen: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.isupper() and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                seen.setdefault(node.targets[0].id, set()).add(node.value.value)
    return {name: values.pop() for name, values in seen.items() if len(values) == 1}


CONSTANTS = _module_constants()


def _fstring_part(value: ast.AST) -> str:
    if isinstance(value, ast.Constant):
        return value.value
    if (isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name)
            and value.value.id in CONSTANTS and value.conversion == -1 and value.format_spec is None):
        return CONSTANTS[value.value.id]
    return PLACEHOLDER


def _render(node: ast.AST | None, names: dict[str, ast.AST], functions: dict[str, ast.FunctionDef],
            depth: int = 0) -> str | None:
    """The message's constant text with PLACEHOLDER for interpolated parts; None if not a string."""
    if node is None or depth > 5:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_fstring_part(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _render(node.left, names, functions, depth + 1)
        right = _render(node.right, names, functions, depth + 1)
        if left is None and right is None:
            return None
        return (left if left is not None else PLACEHOLDER) + (right if right is not None else PLACEHOLDER)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _render(node.left, names, functions, depth + 1)
    if isinstance(node, ast.Name) and node.id in names:
        return _render(names[node.id], names, functions, depth + 1)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
        returns = [n for n in ast.walk(functions[node.func.id]) if isinstance(n, ast.Return)]
        if len(returns) == 1:
            return _render(returns[0].value, {}, functions, depth + 1)
    return None


def _assignments(scope: ast.AST) -> dict[str, ast.AST]:
    """Single-target name assignments in a function (last one wins)."""
    out: dict[str, ast.AST] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node.value
    return out


def _error_name(exc: ast.AST) -> str:
    func = exc.func if isinstance(exc, ast.Call) else exc
    return ast.unparse(func).rsplit(".", 1)[-1]


def collect_raises() -> list[Raise]:
    found: list[Raise] = []
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        scope_of: dict[int, ast.AST] = {}
        for scope in sorted(scopes, key=lambda s: s.lineno):  # inner functions come later and win
            for node in ast.walk(scope):
                if isinstance(node, ast.Raise):
                    scope_of[id(node)] = scope
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            exc = node.exc
            if not isinstance(exc, ast.Call) and not (isinstance(exc, ast.Name) and exc.id[:1].isupper()):
                continue  # `raise exc` / `raise err from None`: re-raising something already built
            message = None
            if isinstance(exc, ast.Call) and exc.args:
                names = _assignments(scope_of.get(id(node), tree))
                message = _render(exc.args[0], names, functions)
            found.append(Raise(module, node.lineno, _error_name(exc), message))
    return found


RAISES = collect_raises()
DOC_TEXT = DOC.read_text(encoding="utf-8")
DOC_NORMALISED = normalise(DOC_TEXT)


def _documented(text: str) -> bool:
    return normalise(text).strip(EDGE) in DOC_NORMALISED


def test_the_scan_finds_the_project_raises():
    # guards the scanner itself: a broken parser would make every other check pass vacuously
    assert len(RAISES) > 150
    keys = {r.key for r in RAISES}
    assert "unresolved sentinel(s) at" in keys
    assert "usd2roi crop emitted 0 ROIs: day0_crop.yaml asks for classes" in keys  # via a helper function


def test_every_user_facing_raise_is_on_the_troubleshooting_page():
    missing = []
    for r in RAISES:
        if (r.module, r.error) in BUILT_ELSEWHERE:
            continue
        if (r.module, r.error, r.key) in INTERNAL:
            continue
        if r.key is None or len(r.key) < 6:
            missing.append(f"{r.where}\n    has no literal text to look up: give the message words, "
                           "or add it to INTERNAL with the reason users cannot see it")
        elif not _documented(r.key):
            missing.append(f"{r.where}\n    key {r.key!r} is not in docs/troubleshooting.md")
    assert not missing, (
        f"{len(missing)} raise(s) are not documented. Add each message (its cause and fix) to "
        "docs/troubleshooting.md, or, if users cannot cause it, to INTERNAL in this test:\n"
        + "\n".join(missing))


def test_messages_built_elsewhere_are_on_the_page_and_in_the_source():
    for (module, error), literal in BUILT_ELSEWHERE.items():
        assert any(r.module == module and r.error == error for r in RAISES), (module, error)
        assert literal in normalise("\n".join(p.read_text() for p in SRC.rglob("*.py"))), literal
        assert _documented(literal), literal


def test_the_internal_allow_list_has_no_stale_entries():
    present = {(r.module, r.error, r.key) for r in RAISES}
    stale = [entry for entry in INTERNAL if entry not in present]
    assert not stale, f"INTERNAL names raises that no longer exist: {stale}"
    for entry, reason in INTERNAL.items():
        assert len(reason) > 15, f"give a real reason for {entry}"


# --- the other direction: no entries for messages that no longer exist --------------------------

def _source_fragments() -> list[str]:
    """Every constant text of the sources, split at its placeholders, normalised."""
    out = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.JoinedStr):
                text = _render(node, {}, {})
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
                text = node.value
            if text:
                out.extend(normalise(p) for p in re.split(rf"{PLACEHOLDER}|%[-#0-9.]*[sdrfi]", text))
    return out


def documented_messages() -> list[str]:
    """The backticked messages in the first column of the page's tables."""
    messages = []
    for line in DOC_TEXT.splitlines():
        if not line.startswith("|") or re.match(r"^\|[\s|:-]+\|?$", line):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        if first_cell.strip().lower() in {"message", "message (as you see it)"}:
            continue
        messages.extend(re.findall(r"`([^`]+)`", first_cell))
    return messages


def test_the_page_documents_only_messages_that_exist():
    fragments = _source_fragments()
    messages = documented_messages()
    assert len(messages) > 100, "the page's tables were not parsed"
    stale = []
    for message in messages:
        # <…> and [...] mark a part that varies, … an elided part: the literal pieces between them must exist
        for piece in re.split(r"<[^<>]*>|…|\[\.\.\.\]|\.\.\.", message):
            piece = normalise(piece).strip(EDGE)
            if len(piece) >= 8 and not any(piece in fragment for fragment in fragments):
                stale.append(f"{message!r}: {piece!r}")
    assert not stale, "docs/troubleshooting.md quotes messages the sources no longer raise:\n" + "\n".join(stale)
