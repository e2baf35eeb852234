"""Data files the app reads at run time (styles, icons), always through importlib.resources."""
