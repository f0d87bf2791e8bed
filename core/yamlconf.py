"""Read YAML documents while keeping the line of every value, so errors can name it."""

from __future__ import annotations

import re
from collections.abc import Mapping
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


MAX_NODES = 100_000  # values in one file, aliases expanded: a billion laughs is an error


class _Converter:
    """Nodes to `Located` values; an alias that contains itself or expands beyond
    MAX_NODES is a ConfigError naming its line, not a RecursionError or a full memory."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.open: set[int] = set()  # the nodes being converted: a cycle comes back to one
        self.count = 0

    def convert(self, node: yaml.Node) -> Located:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            raise ConfigError(f"{self.source}:{line}: more than {MAX_NODES} values (aliases?)")
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return Located(self._construct(node), line)
        if id(node) in self.open:
            raise ConfigError(f"{self.source}:{line}: an alias refers to a value containing it")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return Located([self.convert(item) for item in node.value], line)
            mapping: dict[str, Located] = {}
            for key_node, value_node in node.value:
                key = self._construct(key_node)
                value = self.convert(value_node)
                # Errors about a setting name the line of its key, not of its (nested) value.
                mapping[str(key)] = Located(value.value, key_node.start_mark.line + 1)
            return Located(mapping, line)
        finally:
            self.open.discard(id(node))

    def _construct(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits
            raise ConfigError(f"{self.source}:{node.start_mark.line + 1}: {exc}") from None


def load_located(text: str, source: str) -> Located:
    """Parse YAML text into nested `Located` values; syntax errors name source and line."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return Located({}, 1)
        return _Converter(loader, source).convert(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else f"{source}:1"
        raise ConfigError(f"{where}: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:  # a control character: not YAML
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(f"{source}:{line}: character {exc.character!r} is not allowed") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}:1: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}:1: values nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_located_file(path: Path) -> Located:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 (byte {exc.start})") from None
    return load_located(text, str(path))


def plain(located: Located) -> Any:
    """Strip line information, giving plain dicts, lists and scalars."""
    if isinstance(located.value, dict):
        return {key: plain(value) for key, value in located.value.items()}
    if isinstance(located.value, list):
        return [plain(item) for item in located.value]
    return located.value


def origins(tree: Mapping[str, Located], source: str, prefix: str = "") -> dict[str, str]:
    """Where each setting of a located tree came from: dotted name (hyphens as underscores)
    -> `source:line` (or `source` alone when the tree has no lines: the environment, flags)."""
    found: dict[str, str] = {}
    for key, located in tree.items():
        name = prefix + str(key).replace("-", "_")
        found[name] = f"{source}:{located.line}" if located.line else source
        if isinstance(located.value, dict):
            found.update(origins(located.value, source, name + "."))
    return found


def locate_message(message: str, where: Mapping[str, str]) -> str:
    """`message` (a check across settings, such as `readers must be between 1 and 15`)
    prefixed with where the setting it names came from: the most specific name it mentions;
    unchanged when it names none that was set."""
    named = [
        name
        for name in where
        if re.search(r"(?<![\w.])" + re.escape(name) + r"(?!\w)", message) is not None
    ]
    if not named:
        return message
    return f"{where[max(named, key=len)]}: {message}"
