"""Project settings: the config loader (soft-merged environments) and the hooks."""

from kedro.config import OmegaConfigLoader

from sdg_factory.hooks import FailureSummaryHooks, ModelMemoryHooks, ProvenanceHooks
from sdg_factory.run_lock_hooks import RunLockHooks

HOOKS = (ProvenanceHooks(), FailureSummaryHooks(), ModelMemoryHooks(), RunLockHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (smoke, gpu, cloud) overrides single keys, not whole sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "globals": "soft"},
}
