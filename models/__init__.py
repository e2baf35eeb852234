"""Catalog of the models Enclave supports, as data (`catalog.json`) read through importlib.resources."""
