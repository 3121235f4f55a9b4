"""Fingerprints: every output knows what made it, so a re-run recomputes exactly what is stale.

An output's fingerprint is a digest of the node that wrote it, the algorithm version of that
node, the resolved parameters it read and the fingerprints of the inputs it was computed from
(per item, for nodes that declare which input items each output item comes from). Fingerprints
are kept beside the data, one manifest per dataset (see :mod:`.manifest`); the
:class:`~sdg_factory.hooks.FingerprintHooks` compute them before each node runs and bind them
to the node's output datasets, which then skip what matches, recompute what differs and remove
what the current configuration no longer makes. ``docs/reruns.md`` is the user's page.
"""

from sdg_factory.fingerprints.context import (
    NodeFingerprint,
    algorithm_version,
    all_keys_but,
    only_keys,
    per_item,
    reads_parameters,
)
from sdg_factory.fingerprints.hashing import digest

__all__ = ["NodeFingerprint", "algorithm_version", "all_keys_but", "digest", "only_keys", "per_item",
           "reads_parameters"]
