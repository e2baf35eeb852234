"""The app icon: enclave.svg is the source; the PNG, ICO and ICNS files are made from it by
packaging/make_icons.py (the desktop entry, the Windows installer and the macOS bundle need them)."""
