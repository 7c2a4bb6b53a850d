"""YAML loading that remembers where every value came from, so errors can say ``file:line``.

PyYAML's composed node graph carries start marks; we build plain Python data and, beside it, a map from the key
path (a tuple of keys and list indexes) to the 1-based line of that value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asrctl.errors import BadInput

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedYaml:
    """A parsed YAML document plus the line of each key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int:
        """Line of the value at ``key_path``, or of its nearest ancestor that has one (1 for the document)."""
        probe = tuple(key_path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def where(self, key_path: KeyPath) -> str:
        """``file:line`` for error messages, with the file shown relative to the working directory when possible."""
        return f"{display_path(self.path)}:{self.line_of(key_path)}"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _build(node: yaml.Node, key_path: KeyPath, lines: dict[KeyPath, int], source: Path) -> Any:
    lines[key_path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise BadInput(f"{display_path(source)}:{key_node.start_mark.line + 1}: YAML merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise BadInput(f"{display_path(source)}:{key_node.start_mark.line + 1}: mapping keys must be plain scalars")
            key = _construct(key_node)
            if key in result:
                raise BadInput(
                    f"{display_path(source)}:{key_node.start_mark.line + 1}: duplicate key {key!r}; keep one of them"
                )
            result[key] = _build(value_node, key_path + (key,), lines, source)
            # Point at the key's own line: for a nested block the value starts on the next line.
            lines[key_path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, key_path + (i,), lines, source) for i, item in enumerate(node.value)]
    return _construct(node)


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(path: Path) -> LocatedYaml:
    """Parse ``path``; a missing file or a syntax error is a one-line ``BadInput`` naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{display_path(path)}: file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{display_path(path)}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise BadInput(f"{display_path(path)}: cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise BadInput(f"{display_path(path)}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                       f"save the file as UTF-8") from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> LocatedYaml:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise BadInput(f"{display_path(path)}:{line}: invalid YAML: {problem}") from None
    if node is None:
        return LocatedYaml(path, None, {(): 1})
    lines: dict[KeyPath, int] = {}
    try:
        data = _build(node, (), lines, path)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise BadInput(f"{display_path(path)}:{line}: invalid YAML: {exc.problem}") from None
    return LocatedYaml(path, data, lines)
