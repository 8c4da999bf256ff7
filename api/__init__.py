"""The HTTP API for channels, store staff and admins."""
