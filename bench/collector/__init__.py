"""The collector benchmark: `python -m bench.collector` (see __main__ for the options).

Starts its own 16-instance stack, measures the collector's CPU per instance at 1 s and
100 ms sampling, the /metrics scrape, postgres_exporter side by side on one instance and how
fast a change reaches Prometheus, brings the stack down, and writes the `## Collector`
section of docs/benchmarks.md.
"""
