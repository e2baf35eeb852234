"""Enclave: local, private chat with gpt-oss.

Only `app.ui` may import Qt; every other package is usable from the command line and from tests alone.

Every entry point runs this file first, so it switches every dependency's telemetry and hub access off here,
before any of them can be imported (app/offline_env.py says what each one would do otherwise).
"""

from app import offline_env

offline_env.apply()

__version__ = "0.1.0"
