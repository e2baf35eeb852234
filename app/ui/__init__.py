"""The PySide6 desktop app. The only package in Enclave that imports Qt.

Structure (napari-style): one `Worker` per thread (app.ui.worker) owns the loaded model, the history store or
the document reader, and speaks only in queued signals carrying plain objects; the composition root
(app.ui.application) makes the threads. Controllers keep the UI-side state, one job each: the model
(model_controller), opening the history (history_opener), the conversations (conversations), the replies
(replies), the attachments (attachments).
Widgets in `widgets/` observe them through signals and never call the engine or the store.
"""

try:
    import PySide6  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the dependency
    raise ImportError(
        "Enclave's desktop app needs PySide6. Install it with: pip install pyside6-essentials"
    ) from exc
