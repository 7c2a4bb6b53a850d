"""Request bodies checked against the SDK's own models (azure-mgmt-recoveryservicessiterecovery 2.0.0,
azure-mgmt-automation 2.0.0), the way ASR's service deserializes them.

The SDK's hybrid models are lenient on the client side (``Model(data)`` accepts anything), so this module walks
their declarations instead: each ``rest_field``'s wire name, its annotation (``Optional[...]`` = optional,
anything else = **required**), read-only visibility (ignored in requests), nested models, lists, dicts, and
polymorphic bases (a ``__mapping__`` of ``instanceType`` values to subclasses). Checked:

* required fields present and not null;
* ``instanceType`` discriminators known for that base (the base's own name is accepted, as for the container
  mapping's ``ReplicationProviderSpecificContainerMappingInput`` that PowerShell sends);
* JSON types: string, integer, number, boolean, object, array; ISO date-times; enum-typed strings within the
  SDK's known values (ASR deserializes them into .NET enums);
* the string-typed booleans (``performShutdown: "true"``, …) are strings ``"true"``/``"false"``, never JSON
  booleans (REFERENCE-modernized §3.1 "Bools are strings").

Fields the model does not declare are not errors (ASR ignores them) but are reported as ``unknown`` so a test can
see them in the request log.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import sys
import typing
from dataclasses import dataclass, field
from typing import Any

# Declared as `str` in the SDK, documented as booleans: ASR wants "true"/"false" (SDK docstrings; PSrec bodies).
STRING_BOOLEANS = frozenset(
    {
        "enableAgentAutoUpgrade", "enableMultiVmSync", "isAgentUpdateRequired", "isMultiVmSyncPoint", "isOSDisk",
        "isPrimaryNic", "isRebootAfterUpdateRequired", "isSelectedForFailover", "isSelectedForMigration",
        "isTargetVmConfidentialEncryptionEnabled", "isTargetVmIntegrityMonitoringEnabled",
        "isTargetVmSecureBootEnabled", "isTargetVmTpmEnabled", "performAutoResync", "performShutdown",
        "performSqlBulkRegistration", "useManagedDisks", "useManagedDisksForReplication", "useMultiVmSyncPoint",
    }
)  # fmt: skip


@dataclass
class Checked:
    """The outcome of validating one body: problems (each ``path: message``) and undeclared field paths."""

    problems: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(model: type, data: Any) -> Checked:
    """Validate ``data`` (parsed JSON) against the SDK model class ``model``."""
    out = Checked()
    _value(model, data, "", out)
    return out


def resolve(model: type, data: dict[str, Any]) -> type:
    """The concrete SDK class ASR would deserialize ``data`` into (following ``instanceType``)."""
    root = _discriminated_root(model)
    if root is None:
        return model
    disc = _discriminator(root)
    value = data.get(disc) if isinstance(data, dict) else None
    return root.__mapping__.get(value, model)  # type: ignore[attr-defined]


# -- internals ---------------------------------------------------------------------------------------------------
def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool, bool], ...]:
    """(wire name, annotation without Optional, required, read_only) for every rest field of ``cls``."""
    cls.__new__(cls)  # the SDK computes _attr_to_rest_field on first construction
    module = sys.modules[cls.__module__]
    package = sys.modules[cls.__module__.rsplit(".", 1)[0]]
    hints = typing.get_type_hints(cls, globalns={**vars(module), "_models": package})
    result = []
    for attr, rf in cls._attr_to_rest_field.items():  # type: ignore[attr-defined]
        annotation = hints.get(attr, Any)
        args = typing.get_args(annotation)
        optional = typing.get_origin(annotation) is typing.Union and type(None) in args
        if optional:
            rest = tuple(a for a in args if a is not type(None))
            annotation = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007 - runtime construction
        read_only = rf._visibility == ["read"]
        result.append((rf._rest_name, annotation, not optional, read_only))
    return tuple(result)


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and getattr(t, "_is_model", False)


def _discriminated_root(cls: type) -> type | None:
    for klass in cls.__mro__:
        if "__mapping__" in vars(klass):
            return klass
    return None


def _discriminator(root: type) -> str:
    for value in vars(root).values():
        if getattr(value, "_is_discriminator", False):
            return value._rest_name
    return "instanceType"


def _model(cls: type, data: Any, path: str, out: Checked) -> None:
    if not isinstance(data, dict):
        out.problems.append(f"{path or 'body'}: expected a JSON object for {cls.__name__}, got {_kind(data)}")
        return
    root = _discriminated_root(cls)
    if root is not None:
        disc = _discriminator(root)
        value = data.get(disc)
        known = sorted(root.__mapping__)  # type: ignore[attr-defined]
        if value is None:
            out.problems.append(f"{_join(path, disc)}: required ({cls.__name__} is polymorphic; one of {known})")
            return
        if value in root.__mapping__:  # type: ignore[attr-defined]
            target = root.__mapping__[value]  # type: ignore[attr-defined]
            if not issubclass(target, cls):
                out.problems.append(f"{_join(path, disc)}: '{value}' is not a {cls.__name__}")
                return
            cls = target
        elif value != root.__name__:
            out.problems.append(f"{_join(path, disc)}: unknown {root.__name__} instanceType '{value}'; one of {known}")
            return
    declared = set()
    for name, annotation, required, read_only in _fields(cls):
        declared.add(name)
        if read_only:
            continue
        present = name in data and data[name] is not None
        if not present:
            if required:
                out.problems.append(f"{_join(path, name)}: required by {cls.__name__}")
            continue
        _value(annotation, data[name], _join(path, name), out, wire_name=name)
    out.unknown.extend(_join(path, k) for k in data if k not in declared)


def _value(t: Any, data: Any, path: str, out: Checked, *, wire_name: str = "") -> None:
    origin = typing.get_origin(t)
    if _is_model(t):
        _model(t, data, path, out)
    elif origin is typing.Literal:
        if data not in typing.get_args(t):
            out.problems.append(f"{path}: must be one of {list(typing.get_args(t))}, got {data!r}")
    elif origin is list:
        if not isinstance(data, list):
            out.problems.append(f"{path}: expected a JSON array, got {_kind(data)}")
            return
        (item,) = typing.get_args(t)
        for i, element in enumerate(data):
            _value(item, element, f"{path}[{i}]", out)
    elif origin is dict:
        if not isinstance(data, dict):
            out.problems.append(f"{path}: expected a JSON object, got {_kind(data)}")
            return
        _, item = typing.get_args(t)
        for key, element in data.items():
            _value(item, element, f"{path}.{key}", out)
    elif origin is typing.Union:
        args = typing.get_args(t)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if str in args and enums:
            if not isinstance(data, str):
                out.problems.append(f"{path}: expected a string, got {_kind(data)}")
                return
            values = [e.value for e in enums[0]]
            if data.lower() not in {v.lower() for v in values}:
                out.problems.append(f"{path}: '{data}' is not one of {values}")
        elif not any(_accepts(a, data) for a in args):
            out.problems.append(f"{path}: {_kind(data)} does not match {t}")
    elif t is str:
        if not isinstance(data, str):
            out.problems.append(f"{path}: expected a string, got {_kind(data)}")
        elif wire_name in STRING_BOOLEANS and data.lower() not in ("true", "false"):
            out.problems.append(f'{path}: a string boolean must be "true" or "false", got {data!r}')
    elif t is bool:
        if not isinstance(data, bool):
            out.problems.append(f"{path}: expected a JSON boolean, got {_kind(data)}")
    elif t is int:
        if isinstance(data, bool) or not isinstance(data, int):
            out.problems.append(f"{path}: expected an integer, got {_kind(data)}")
    elif t is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            out.problems.append(f"{path}: expected a number, got {_kind(data)}")
    elif t is dt.datetime:
        if not isinstance(data, str) or not _is_datetime(data):
            out.problems.append(f"{path}: expected an ISO 8601 date-time string, got {data!r}")
    # Any / other annotations: nothing the service would reject at deserialization


def _accepts(t: Any, data: Any) -> bool:
    probe = Checked()
    _value(t, data, "", probe)
    return probe.ok


def _is_datetime(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _kind(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return f"boolean {str(data).lower()}"
    if isinstance(data, int | float):
        return f"number {data}"
    if isinstance(data, str):
        return f"string {data!r}"
    if isinstance(data, list):
        return "array"
    return "object"
