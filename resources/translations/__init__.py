"""Enclave's translations: Qt Linguist sources (.ts) and the compiled files the app loads (.qm)."""
