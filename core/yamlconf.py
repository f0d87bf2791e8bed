"""Read YAML documents while keeping the line of every value, so errors can name it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError


@dataclass(frozen=True)
class Located:
    """A scalar, list or mapping from a YAML file with the line (1-based) it came from."""

    value: Any
    line: int


def _convert(node: yaml.Node, loader: yaml.SafeLoader) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Located] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            value = _convert(value_node, loader)
            # Errors about a setting name the line of its key, not of its (nested) value.
            mapping[str(key)] = Located(value.value, key_node.start_mark.line + 1)
        return Located(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return Located([_convert(item, loader) for item in node.value], line)
    return Located(loader.construct_object(node), line)


def load_located(text: str, source: str) -> Located:
    """Parse YAML text into nested `Located` values; syntax errors name source and line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located({}, 1)
        return _convert(node, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: {exc.problem or exc}") from None
    finally:
        loader.dispose()


def load_located_file(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return load_located(text, str(path))


def plain(located: Located) -> Any:
    """Strip line information, giving plain dicts, lists and scalars."""
    if isinstance(located.value, dict):
        return {key: plain(value) for key, value in located.value.items()}
    if isinstance(located.value, list):
        return [plain(item) for item in located.value]
    return located.value
