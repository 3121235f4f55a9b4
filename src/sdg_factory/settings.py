"""Project settings: the config loader (soft-merged environments) and the hooks."""

from kedro.config import OmegaConfigLoader

from sdg_factory.hooks import FailureSummaryHooks, ModelMemoryHooks, ProvenanceHooks
from sdg_factory.parameter_checks import ParameterCheckHooks

HOOKS = (ParameterCheckHooks(), ProvenanceHooks(), FailureSummaryHooks(), ModelMemoryHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (smoke, gpu, cloud) overrides single keys, not whole sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "globals": "soft"},
}
