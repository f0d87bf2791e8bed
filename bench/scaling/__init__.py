"""Scaling figures for docs/scaling.md: `python -m bench.scaling`."""
