"""Provenance: what a run was asked to do, stored next to what it wrote, secrets redacted."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sdg_factory.redaction import REDACTED, redact  # noqa: F401 - re-exported (one redaction rule set)


def package_versions(names: tuple[str, ...] = ("sdg_factory", "kedro", "numpy", "opencv-python",
                                                "usd-core", "torch", "diffusers")) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def run_record(pipeline: str, env: str | None, runtime_params: dict | None, parameters: dict) -> dict:
    """The resolved configuration of one pipeline run (deterministic: no clock, no host)."""
    return {
        "pipeline": pipeline,
        "env": env,
        "runtime_params": redact(dict(runtime_params or {})),
        "parameters": redact(parameters),
        "versions": package_versions(),
        "outputs": {},  # filled after the run: what made each output's bytes (its manifest's made_by)
    }
