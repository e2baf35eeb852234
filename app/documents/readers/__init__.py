"""One reader per file format. Each runs inside the sandbox process and returns a `ReaderResult`."""
