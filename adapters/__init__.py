"""The outside world behind small interfaces: database, payment gateway, settings."""
