"""`make bench`: every benchmark in turn, each rewriting its own section of docs/benchmarks.md.

    python -m bench                    # every benchmark (about 90 minutes)
    python -m bench failover pi        # a subset
    python -m bench scaling            # docs/scaling.md's figures (about 10 minutes)
    python -m bench load               # docs/reliability.md's Load section (about 15 minutes)
    python -m bench ui                 # UI pages' time to drawn (about 10 minutes)
Run on a quiet machine: the figures are only comparable when nothing else runs.
"""

import sys

from bench import alerts, cloudwatch_api, failover, pi, rules, ui
from bench.collector.__main__ import main as collector_main
from bench.load.__main__ import main as load_main
from bench.scaling.__main__ import main as scaling_main

BENCHES = {
    "pi": lambda: pi.main([]),
    "collector": lambda: collector_main(["--write"]),
    "failover": lambda: failover.main(["--write-docs"]),
    "scaling": lambda: scaling_main(["--write"]),
    "rules": lambda: rules.main(["--write-docs"]),
    "cloudwatch_api": lambda: cloudwatch_api.main([]),
    "load": lambda: load_main(["--write-docs"]),
    "alerts": lambda: alerts.main(["--write-docs"]),
    "ui": lambda: ui.main(["--write-docs"]),
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}")
    for name in chosen:
        print(f"== bench {name}", flush=True)
        BENCHES[name]()
