"""The process environment that keeps every dependency offline: set once, before any of them is imported.

`app/__init__.py` calls `apply()` first thing, so every entry point gets it before any `app.*` module loads: the
`enclave` command, the desktop app, `python -m app`, the document sandbox and the frozen launchers (PyInstaller
runs app/__main__.py, whose first import is `app`). The values are forced, not defaulted: a shell profile with
`ORT_DISABLE_TELEMETRY=0` must not switch Microsoft's telemetry back on.

What each dependency does without these (audited for pyproject.toml's dependencies):

* onnxruntime 1.32 (the Linux wheel, measured here with strace): a 1DS telemetry client starts with the first
  InferenceSession, writes a device id and an event queue under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/
  and, about 5 s later, resolves and posts to mobile.events.data.microsoft.com. ORT_DISABLE_TELEMETRY=1, read
  when onnxruntime is imported, stops all of it (no folder, no lookup); `disable_telemetry_events()` after
  import does not. Windows builds (DirectML) log through ETW instead, which `disable_telemetry_events()` turns
  off; app/engine/session.py calls it before every session (not verifiable here: no Windows machine).
* onnxruntime-genai (only for `enclave bench --vs-genai`, not a dependency): the same device id plus its own
  queue (onnxruntime-genai.db) as soon as a model loads; the same ORT_DISABLE_TELEMETRY=1 stops it (measured).
* huggingface_hub: HF_HUB_OFFLINE=1 makes every hub call fail fast instead of reaching the Hub;
  HF_HUB_DISABLE_TELEMETRY=1 turns off its usage pings (also honoured by transformers, test-only here);
  HF_HUB_DISABLE_IMPLICIT_TOKEN=1 keeps a stored token from being sent if a call ever did go out.
  Enclave's own explicit, user-started download lifts HF_HUB_OFFLINE for that download only: it is the one
  variable in `OFFLINE_ENVIRONMENT` with that meaning (see `HUB_OFFLINE`).
* tokenizers: no network unless `Tokenizer.from_pretrained` is called (its hub code is in Rust, invisible to
  Python); the app loads tokenizers only with `Tokenizer.from_file`.
* onnx: `onnx.hub` downloads only when called; the app never calls it.
* PySide6 (Qt Widgets only, no QtNetwork): no update check or telemetry; rich text could load files, which the
  UI prevents itself (app/ui/safe_text.py).
* keyring, cryptography, platformdirs, psutil, numpy, safetensors, charset-normalizer, markdown-it-py, pygments,
  pypdf, python-docx, openpyxl, python-pptx, odfpy, defusedxml, beautifulsoup4 + lxml: no network code on the
  paths the app uses (lxml's HTML parser does not fetch external entities; defusedxml refuses them).
* quicktok-v1: only its bundled vocabulary file is read; its importer (which can download) is never called.
* DO_NOT_TRACK=1 is the cross-tool convention some libraries honour; set for any that does.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

HUB_OFFLINE = "HF_HUB_OFFLINE"  # lifted only inside an explicit, user-started download

# Name -> value, applied to os.environ before onnxruntime, huggingface_hub or tokenizers are imported.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    HUB_OFFLINE: "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
}


def apply(environ: MutableMapping[str, str] = os.environ) -> None:
    """Forces every variable of OFFLINE_ENVIRONMENT into `environ` (the process environment by default)."""
    environ.update(OFFLINE_ENVIRONMENT)
