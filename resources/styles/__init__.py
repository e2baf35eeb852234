"""Qt stylesheets (read through importlib.resources by app.ui.theme)."""
