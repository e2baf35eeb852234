"""Conversation history in SQLite, message contents encrypted at rest. No Qt."""
