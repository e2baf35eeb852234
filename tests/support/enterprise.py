"""Fixtures for the organisation's side of the app: a machine policy in force for one test."""

from __future__ import annotations

import pytest


@pytest.fixture
def enterprise_policy(tmp_path, monkeypatch):
    """`enterprise_policy({...})` puts that JSON policy in force (through ENCLAVE_POLICY_FILE, as IT would with
    /etc/enclave/policy.json) and returns the Policy the app now reads; a str is written as the file's text."""
    import json

    from app.policy import OVERRIDE_ENV, current_policy

    def apply(values):
        path = tmp_path / "enterprise-policy.json"
        path.write_text(values if isinstance(values, str) else json.dumps(values), encoding="utf-8")
        monkeypatch.setenv(OVERRIDE_ENV, str(path))
        current_policy.cache_clear()
        return current_policy()

    yield apply
    current_policy.cache_clear()
