"""The exported model package on disk: manifest, checksums, validation. Written by app.export, read by app.engine."""
