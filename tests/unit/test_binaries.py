"""A binary the suite needs and cannot find fails the test loudly instead of skipping it."""

import pytest

from tests.binaries import require_binary


def test_a_missing_binary_fails_with_how_to_install_it() -> None:
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-4711 is not installed"):
        require_binary("no-such-tool-4711")


@pytest.mark.parametrize("name", ["promtool", "prometheus"])
def test_the_binaries_the_suite_runs_today_are_found(name: str) -> None:
    assert require_binary(name).endswith("/" + name)
