"""Render the stack's machine list as an Ansible inventory (templates/mobility_inventory.ini.j2)."""

from __future__ import annotations

from pathlib import Path

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.project import templates_dir

TEMPLATE = "mobility_inventory.ini.j2"
ANSIBLE_MANAGED = "Ansible managed: rendered by asrctl from the stack's machine list; edits are overwritten"


def _comment(text: str) -> str:
    """Ansible's ``comment`` filter (shell style): the text boxed between ``#`` lines."""
    lines = ["#", *(f"# {line}" if line else "#" for line in text.splitlines()), "#"]
    return "\n".join(lines)


def render_inventory(cfg: StackConfig, stack: str) -> str:
    """The INI inventory for every machine of the stack: ``linux`` over SSH, ``windows`` over PSRP."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # an INI file, not HTML
    )
    env.filters["comment"] = _comment
    try:
        template = env.get_template(TEMPLATE)
    except TemplateNotFound:
        raise BadInput(f"{Path(templates_dir()) / TEMPLATE}: inventory template not found") from None
    return template.render(
        ansible_managed=ANSIBLE_MANAGED,
        stack=stack,
        configuration_server=cfg.configuration_server,
        linux=[m for m in cfg.machines if m.os == "linux"],
        windows=[m for m in cfg.machines if m.os == "windows"],
    )
