"""How option and argument types appear in ``--help``: plain words, never ``<bool>``, ``<str>`` or ``{PLAN}``.

typer 0.29 (pinned) prints a type placeholder for every parameter (``--json <bool>``) and braces around required
arguments in the usage line. Operators read help in terminals and in CI logs, where those read as noise or as
syntax to type. Flags show nothing, value options show their ``metavar`` (every asrctl option declares one, e.g.
``--stack NAME``) or the type's name in capitals, arguments their name. Applied once, when the CLI is built.
"""

from __future__ import annotations

from typing import Any

from typer import core


def _option_type(self: Any, ctx: Any) -> str | None:
    if self.metavar is not None:
        return self.metavar
    if self.is_flag or self.is_bool_flag:
        return None
    return self.bare_type().upper()


def _argument_type(self: Any, ctx: Any) -> str | None:
    return None


def _argument_usage(self: Any) -> str:
    name = self.display_name_raw
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def apply() -> None:
    core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
