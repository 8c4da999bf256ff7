"""The store console: staff work online orders in a browser."""
