"""Allows `python -m app`, which the frozen build and the CLI share."""

from app.cli.main import main

raise SystemExit(main())
