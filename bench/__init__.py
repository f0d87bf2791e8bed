"""Benchmarks run on demand (not in CI); results go to docs/benchmarks.md with machine and date."""
