"""Helpers shared by tests (test-model builders, fixtures)."""
