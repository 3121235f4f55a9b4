"""Project settings: the config loader (soft-merged environments) and the hooks."""

from sdg_factory.allocator import keep_freed_memory
from sdg_factory.config_loader import CachingOmegaConfigLoader
from sdg_factory.hooks import FailureSummaryHooks, ItemPartsHooks, ModelMemoryHooks, ProvenanceHooks
from sdg_factory.parameter_checks import ParameterCheckHooks
from sdg_factory.redaction import install_log_redaction
from sdg_factory.rerun_hooks import FingerprintHooks
from sdg_factory.run_lock_hooks import RunLockHooks

install_log_redaction()  # every log record of a run is scrubbed of credentials (docs/security.md)
keep_freed_memory()  # big arrays reuse freed memory instead of new pages (sdg_factory/allocator.py)

# pluggy calls the hooks registered last first: the parameter checks run before anything else,
# the failure summary (which raises) comes last, after provenance has been written; the run
# lock is taken first and released last (tryfirst)
HOOKS = (FailureSummaryHooks(), ProvenanceHooks(), FingerprintHooks(), ModelMemoryHooks(), RunLockHooks(),
         ParameterCheckHooks(), ItemPartsHooks())

CONFIG_LOADER_CLASS = CachingOmegaConfigLoader  # OmegaConfigLoader reading each kind of file once
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (smoke, gpu, cloud) overrides single keys, not whole sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "globals": "soft"},
}
