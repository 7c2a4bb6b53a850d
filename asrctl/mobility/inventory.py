"""Render the stack's machine list as an Ansible inventory (templates/mobility_inventory.ini.j2).

Modernized: each machine registers with the replication appliance the stack assigns it
(``StackConfig.registration_endpoint``) and names that appliance's inventory host, which the group
``asr_appliances`` holds; classic: every machine registers with the one configuration server.
"""

from __future__ import annotations

from pathlib import Path

from asrctl.config import Machine, StackConfig
from asrctl.errors import BadInput
from asrctl.project import templates_dir

TEMPLATE = "mobility_inventory.ini.j2"
ANSIBLE_MANAGED = "Ansible managed: rendered by asrctl from the stack's machine list; edits are overwritten"
APPLIANCE_GROUP = "asr_appliances"


def _comment(text: str) -> str:
    """Ansible's ``comment`` filter (shell style): the text boxed between ``#`` lines."""
    lines = ["#", *(f"# {line}" if line else "#" for line in text.splitlines()), "#"]
    return "\n".join(lines)


def render_inventory(cfg: StackConfig, stack: str) -> str:
    """The INI inventory for every machine of the stack: ``linux`` over SSH, ``windows`` (and the appliances) over
    PSRP."""
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

    def endpoint_vars(machine: Machine) -> str:
        """Per-machine variables (with a leading space): where it registers (modernized: its own appliance)."""
        if not cfg.modernized:
            return ""
        _, address = cfg.registration_endpoint(machine.name)
        appliance = cfg.appliance_assignment[machine.name]
        return f" asr_mobility_service_cs_address={address} asr_mobility_service_appliance_host={appliance.name}"

    return template.render(
        ansible_managed=ANSIBLE_MANAGED,
        stack=stack,
        architecture=cfg.architecture,
        configuration_server=cfg.configuration_server,
        appliances=cfg.replication_appliances.appliances if cfg.replication_appliances else [],
        endpoint_vars=endpoint_vars,
        linux=[m for m in cfg.machines if m.os == "linux"],
        windows=[m for m in cfg.machines if m.os == "windows"],
    )
