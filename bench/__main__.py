"""`make bench`: every benchmark, writing its section of docs/benchmarks.md."""

from bench import failover

if __name__ == "__main__":
    raise SystemExit(failover.main(["--write-docs"]))
