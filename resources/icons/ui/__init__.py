"""The UI's icon set: 24 px stroke icons drawn for Enclave in `currentColor`, tinted by app.ui.icons."""
