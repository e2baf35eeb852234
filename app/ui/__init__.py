"""The PySide6 desktop app. The only package in Enclave that imports Qt."""
