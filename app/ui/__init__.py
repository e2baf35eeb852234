"""The PySide6 desktop app. The only package in Enclave that imports Qt.

Structure (napari-style): workers own the engine and the history store on their own threads and speak only in
queued signals carrying plain event objects; `ChatController` keeps the UI-side state; widgets in `widgets/`
observe it through signals and never call the engine or the store.
"""

try:
    import PySide6  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the dependency
    raise ImportError(
        "Enclave's desktop app needs PySide6. Install it with: pip install pyside6-essentials"
    ) from exc
