"""Widgets of the main window. Each gets its state from ChatController and reports user intent by signals."""
