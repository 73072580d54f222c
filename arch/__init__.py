"""Architectures kernkit can emulate, each a plugin."""
