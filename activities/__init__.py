"""Temporal activities: thin, idempotent wrappers over the adapters."""
