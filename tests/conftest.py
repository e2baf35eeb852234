"""Suite-wide setup: no network, headless Qt, and shared fixtures live in tests/support."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import app  # noqa: F401 - app/offline_env.py switches ONNX Runtime's telemetry off before any test imports it

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The model library (downloads, imports, verification records) of the whole test session lives in a temporary
# folder, never in the user's data folder; tests that need their own set ENCLAVE_LIBRARY or a HOME of their own.
if "ENCLAVE_LIBRARY" not in os.environ:
    _library = tempfile.mkdtemp(prefix="enclave-test-library-")
    os.environ["ENCLAVE_LIBRARY"] = _library
    atexit.register(shutil.rmtree, _library, True)
# Nothing a test does may land in the real user's data folder (an export records its checkpoint's folder there;
# the app keeps its packages and history there). Removed when the session ends.
_DATA_HOME = tempfile.mkdtemp(prefix="enclave-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)

# Shared fixture modules are imported as `tests.support.*`; make that work for a bare `pytest` too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytest_plugins = ["tests.support.tokenizer_fixtures", "tests.support.test_models", "tests.support.packages",
                  "tests.support.enterprise", "tests.support.transformers_checkpoints"]

# The whole suite runs behind the app's network guard, as the app does: a test that starts a loopback server opens
# app.netguard.network_allowed(["127.0.0.1"], reason=...) around it, exactly like the app's own servers.
from app import netguard  # noqa: E402

netguard.install()
