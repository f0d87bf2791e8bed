"""Where benchmarks write their figures: a section of a Markdown file between two markers."""

from __future__ import annotations

from pathlib import Path


def write_marked(
    path: Path,
    begin: str,
    end: str,
    section: str,
    *,
    heading: str = "",
    new_file: str = "# Benchmarks\n",
) -> None:
    """Replace the text between `begin` and `end` in `path` with `section`, or append the
    marked section (under `## heading` when given) to the file, `new_file` if it is new."""
    text = path.read_text() if path.exists() else new_file
    block = f"{begin}\n{section.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        title = f"\n\n## {heading}" if heading else ""
        text = text.rstrip() + title + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
