"""Widgets of the main window. Each gets its state from the controllers and reports user intent by signals."""
