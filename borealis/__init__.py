"""Borealis: an Aurora-style observability stack for PostgreSQL."""

__version__ = "0.1.0"
