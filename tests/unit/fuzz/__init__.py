"""Fuzzing with hypothesis of everything that parses outside input (issue 13, item 3).

Each target runs a modest number of examples so the whole set stays within about 90 s of CI;
`BOREALIS_FUZZ_EXAMPLES=N` runs every target with N examples instead. Bugs found are kept as
`@example` regressions next to the property that found them (docs/reliability.md, Fuzzing).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz(examples: int) -> settings:
    """Settings for one fuzz target: `examples` by default, or BOREALIS_FUZZ_EXAMPLES."""
    wanted = os.environ.get("BOREALIS_FUZZ_EXAMPLES", "")
    return settings(
        max_examples=int(wanted) if wanted.isdigit() and int(wanted) > 0 else examples,
        deadline=None,  # a bound is asserted where one matters, on the clock of the call
        database=None,  # nothing written into the checkout; regressions are @examples
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        print_blob=True,
    )
