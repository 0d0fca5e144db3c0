"""Badger Tape Studio's runner: theme in, hour-long lofi video out."""

__version__ = "0.1.0"
