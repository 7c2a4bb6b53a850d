"""Every YAML file asrctl reads (stack files, plan files, the simulator's fault file, policy config) comes through
here: plain Python data plus the line of every key and list item, so errors can say ``file:line``.

The data is built straight from the parser's events (libyaml's C parser when PyYAML has it), in one loop with an
explicit stack: no node graph, no constructor object per scalar, no recursion. That is what makes a 4,000-machine
stack parse in a fraction of a second, and what makes hostile input safe to read:

* control characters are refused before parsing, naming the character, line and column;
* aliases (``*name``) are refused: nothing asrctl reads needs them, and without them a small file cannot expand
  into a huge one ("billion laughs");
* nesting deeper than :data:`MAX_DEPTH` is refused (libyaml's C composer recurses and crashes the interpreter on
  deep input, so the composer is never used);
* files larger than :data:`MAX_FILE_BYTES`, duplicate keys, merge keys, non-scalar keys, tags other than YAML's
  own scalar types, and streams of several documents are refused.

Every refusal is a one-line :class:`~asrctl.errors.BadInput` naming ``file:line`` and the fix.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from asrctl.errors import BadInput

try:  # PyYAML built with libyaml (the pinned wheel is): the C parser, ~5x faster than the pure-Python one.
    from yaml import CSafeLoader as _FastLoader
except ImportError:  # pragma: no cover - a PyYAML without libyaml still works, only slower
    _FastLoader = yaml.SafeLoader

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted. A stack file nests six levels; 64 leaves room for any hand-written
file while stopping runaway brackets long before they cost anything."""

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest file read. A 4,000-machine stack file is about 1 MB; 16 MB also bounds the memory a mistaken path (a
log file, a disk image) can cost before the error."""

# YAML 1.1's printable set (the one PyYAML's own reader enforces): tab, line breaks, and no other control character.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
# Scalar types built as SafeLoader builds them; every other tag (including !!python/..., !!set and custom !Tags) is
# refused rather than silently read as plain data.
_SCALAR_TAGS = frozenset(_TAG + t for t in ("null", "bool", "int", "float", "timestamp", "binary"))
# SafeLoader's implicit resolvers, by first character (what yaml.resolver.Resolver.resolve looks up per scalar).
_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: list(resolvers) + list(yaml.SafeLoader.yaml_implicit_resolvers.get(None, []))
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}


@dataclass(frozen=True)
class LocatedYaml:
    """A parsed YAML document plus the line of each key path.

    ``data`` may be shared by several readers of the same file in one command (:func:`parse_once`): treat it as
    read-only.
    """

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


# ---------------------------------------------------------------------------------------------------------------
# One parse per file per command

_reuse: dict[tuple[Any, ...], LocatedYaml] | None = None


@contextmanager
def parse_once() -> Iterator[None]:
    """Within this block, a file that is read again unchanged (same inode, size and mtime) is not parsed again.

    A command enters it once, so that e.g. ``policy check`` parses the stack file once although the stack
    configuration, the mock-mode program and the SARIF locations each read it. A module global rather than a
    context variable: the Pulumi program under mocks reads files from its worker threads.
    """
    global _reuse
    outer, _reuse = _reuse, ({} if _reuse is None else _reuse)
    try:
        yield
    finally:
        _reuse = outer


# ---------------------------------------------------------------------------------------------------------------
# Reading


def load_yaml(path: Path) -> LocatedYaml:
    """Parse ``path``; an unreadable, oversized or invalid file is a one-line ``BadInput`` naming file and line."""
    path = Path(path)
    shown = display_path(path)
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            # Only a regular file can be recognised as unchanged; a pipe (--config <(...)) is read every time.
            key = (
                (str(path.resolve()), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
                if stat.S_ISREG(info.st_mode)
                else None
            )
            if _reuse is not None and key in _reuse:
                return _reuse[key]
            # The size first, then a bounded read: a device or a pipe (/dev/zero) has no size to check.
            raw = b"" if info.st_size > MAX_FILE_BYTES else handle.read(MAX_FILE_BYTES + 1)
            if info.st_size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
                raise BadInput(
                    f"{shown}:1: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, the most asrctl reads from one YAML "
                    "file (a 4,000-machine stack is about 1 MB); check that this is the file you meant"
                )
    except FileNotFoundError:
        raise BadInput(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{shown}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise BadInput(f"{shown}: cannot read file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInput(f"{shown}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    if "\r" in text:  # universal newlines, as text-mode reading gives
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    doc = parse_yaml(text, path)
    if _reuse is not None and key is not None:
        _reuse[key] = doc
    return doc


def parse_yaml(text: str, path: Path) -> LocatedYaml:
    """Parse ``text`` (the content of ``path``, which is only used in messages)."""
    _refuse_control_characters(text, path)
    try:
        data, lines = _build(_FastLoader(text), path)
    except yaml.MarkedYAMLError as fast_error:
        # libyaml's messages are terse ("did not find expected ',' or ']'"); PyYAML's own parser states the same
        # error better ("expected ',' or ']', but got ':'"), so it explains. Should it accept what libyaml refused,
        # its reading stands: the pure-Python parser is the reference PyYAML users know.
        try:
            data, lines = _build(yaml.SafeLoader(text), path)
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, path) from None
        except yaml.YAMLError:
            raise _syntax_error(fast_error, path) from None
    except yaml.YAMLError as exc:  # not located (a reader error): say what we know, on one line
        raise BadInput(f"{display_path(path)}:1: invalid YAML: {' '.join(str(exc).split())}") from None
    return LocatedYaml(path, data, lines)


def _syntax_error(exc: yaml.MarkedYAMLError, path: Path) -> BadInput:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = exc.problem or exc.context or "invalid YAML"
    return BadInput(f"{display_path(path)}:{line}: invalid YAML: {problem}")


def _refuse_control_characters(text: str, path: Path) -> None:
    found = _NON_PRINTABLE.search(text)
    if not found:
        return
    start = found.start()
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    code = ord(found.group())
    if code < 0x20:
        name = _C0_NAMES[code]
    elif code == 0x7F:
        name = "DEL"
    elif code < 0xA0:
        name = "C1 control"
    else:
        name = "not a character"
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    raise BadInput(
        f"{display_path(path)}:{line}: control character U+{code:04X} ({name}) at column {column}; YAML allows tabs "
        f"and line breaks but no other control characters: delete it (inside a double-quoted string, write {escape})"
    )


_NO_KEY = object()  # a mapping frame waiting for its next key


def _build(loader: Any, source: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Data and line map from ``loader``'s events.

    Each open collection is a frame ``[container, key path, pending key, line of the pending key]``. A collection is
    attached to its parent when it starts, so keys keep file order and every child knows its key path. Lines: a
    mapping entry is at its key's line, a list item at the item's first line, the document at its first node.
    """
    shown = display_path(source)
    lines: dict[KeyPath, int] = {}
    scalars = yaml.constructor.SafeConstructor()  # one constructor for the non-string scalars (int, bool, timestamp, ...)
    constructed: dict[tuple[str, str], Any] = {}  # the same few values (64, true, "1433") recur thousands of times
    stack: list[list[Any]] = []
    root: Any = None
    get = loader.get_event
    try:
        event = get()
        if type(event) is StreamStartEvent:
            event = get()
        if type(event) is StreamEndEvent:
            return None, {(): 1}
        if type(event) is not DocumentStartEvent:  # pragma: no cover - the parser guarantees it
            raise BadInput(f"{shown}:1: invalid YAML: expected a document")
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                line = event.start_mark.line + 1
                tag = event.tag
                value = event.value
                if tag is None or tag == "!":
                    tag = _STR
                    if event.implicit[0]:  # plain scalar: what SafeLoader's resolver would make of it
                        for candidate, pattern in _IMPLICIT.get(value[:1], ()):
                            if pattern.match(value):
                                tag = candidate
                                break
                if tag != _STR:
                    cache_key = (tag, value)
                    if cache_key in constructed:
                        value = constructed[cache_key]
                    elif tag in _SCALAR_TAGS:
                        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
                        value = constructed[cache_key] = scalars.yaml_constructors[tag](scalars, node)
                    elif tag == _MERGE and stack and stack[-1][2] is _NO_KEY and type(stack[-1][0]) is dict:
                        raise BadInput(f"{shown}:{line}: YAML merge keys (<<) are not supported; write the keys out")
                    else:
                        raise BadInput(f"{shown}:{line}: YAML tag {_short_tag(tag)} is not supported here; remove it "
                                       "(quote the value if it is text)")
                if not stack:
                    lines[()] = line
                    root = value
                    continue
                frame = stack[-1]
                container = frame[0]
                if type(container) is list:
                    lines[frame[1] + (len(container),)] = line
                    container.append(value)
                elif frame[2] is _NO_KEY:
                    if value in container:
                        raise BadInput(f"{shown}:{line}: duplicate key {value!r}; keep one of them")
                    frame[2] = value
                    frame[3] = line
                else:
                    lines[frame[1] + (frame[2],)] = frame[3]
                    container[frame[2]] = value
                    frame[2] = _NO_KEY
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                line = event.start_mark.line + 1
                if event.tag not in (None, "!", _MAP if kind is MappingStartEvent else _SEQ):
                    raise BadInput(f"{shown}:{line}: YAML tag {_short_tag(event.tag)} is not supported here; remove it")
                if len(stack) >= MAX_DEPTH:
                    raise BadInput(
                        f"{shown}:{line}: nested deeper than {MAX_DEPTH} levels; asrctl files nest a few levels "
                        "deep: look for unclosed brackets or runaway indentation"
                    )
                new: Any = {} if kind is MappingStartEvent else []
                if not stack:
                    path: KeyPath = ()
                    lines[()] = line
                    root = new
                else:
                    frame = stack[-1]
                    container = frame[0]
                    if type(container) is list:
                        path = frame[1] + (len(container),)
                        lines[path] = line
                        container.append(new)
                    elif frame[2] is _NO_KEY:
                        raise BadInput(f"{shown}:{line}: mapping keys must be plain scalars")
                    else:
                        path = frame[1] + (frame[2],)
                        lines[path] = frame[3]
                        container[frame[2]] = new
                        frame[2] = _NO_KEY
                stack.append([new, path, _NO_KEY, 0])
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                stack.pop()
            elif kind is AliasEvent:
                raise BadInput(
                    f"{shown}:{event.start_mark.line + 1}: YAML alias *{event.anchor} is not supported; write the "
                    "value out (asrctl reads no aliases, so a small file cannot expand into a huge one)"
                )
            elif kind is DocumentEndEvent:
                break
        event = get()
        if type(event) is DocumentStartEvent:
            raise BadInput(
                f"{shown}:{event.start_mark.line + 1}: invalid YAML: a second document starts here; asrctl reads one "
                "document per file: remove this '---' (or what follows it)"
            )
    finally:
        loader.dispose()
    return root, lines


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag
