"""Enclave: local, private chat with gpt-oss.

Only `app.ui` may import Qt; every other package is usable from the command line and from tests alone.
"""

__version__ = "0.1.0"
