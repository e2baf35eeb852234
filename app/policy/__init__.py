"""Enterprise policy: machine-level settings the organisation sets and the user cannot change. No Qt.

    from app.policy import current_policy
    policy = current_policy()
    if not policy.downloads_allowed: ...
    policy.is_managed("proxy")          # lock the setting in the UI: "Managed by your organization"
    policy.model_allowed(manifest_sha)  # AllowedModels

`schema.KEYS` is the one definition of the keys; `sources` reads the OS's policy location; `templates` writes the
ADMX/ADML and .mobileconfig from the schema (`enclave policy templates`).
"""

from __future__ import annotations

import functools

from app.policy.policy import Policy, build_policy
from app.policy.schema import KEYS, PolicyKey
from app.policy.sources import OVERRIDE_ENV, read_policy


@functools.cache
def current_policy() -> Policy:
    """The policy in force, read once per process (policy changes apply at the next start, as with other apps).

    Tests that change ENCLAVE_POLICY_FILE call `current_policy.cache_clear()`.
    """
    return build_policy(read_policy())


__all__ = ["KEYS", "OVERRIDE_ENV", "Policy", "PolicyKey", "current_policy"]
