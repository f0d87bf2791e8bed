"""Write the Grafana dashboards and provisioning files; `--check` fails when the committed ones
are stale.

python -m dashboards.grafana.generate          # rewrite deploy/grafana/
python -m dashboards.grafana.generate --check  # exit 1 if they differ from what the code writes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards.grafana.build import render_json
from dashboards.grafana.provisioning import compose_files
from dashboards.queries import BOARDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


def generated_files() -> dict[str, str]:
    """Path under deploy/grafana -> content."""
    files = {f"dashboards/{board.uid}.json": render_json(board) for board in BOARDS}
    files.update({f"provisioning/{name}": text for name, text in compose_files().items()})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    files = generated_files()
    stale = []
    for name, text in files.items():
        path = DEPLOY / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    extra = sorted(
        str(p.relative_to(DEPLOY))
        for p in (DEPLOY / "dashboards").glob("*.json")
        if str(p.relative_to(DEPLOY)) not in files
    )
    if args.check and extra:
        stale += extra
    elif extra:
        for name in extra:
            (DEPLOY / name).unlink()
    if stale:
        print(
            f"stale Grafana files: {', '.join(stale)}; run `python -m dashboards.grafana.generate`"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
