"""The policy config file: ``asrctl policy check --config FILE`` and ``pulumi preview --policy-pack-config FILE``.

Same format for both (JSON, or YAML for asrctl)::

    {
      "all": "advisory",                                  # every rule's level (optional)
      "storage-geo-redundant": "disabled",               # a rule's level
      "replication-rpo-threshold-within-bound": {"enforcementLevel": "mandatory", "maxRpoThresholdMinutes": 15}
    }

Errors are one line naming the file, line and key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asrctl.errors import BadInput
from asrctl.policy.context import PolicyConfig
from asrctl.policy.rule import ENFORCEMENT_LEVELS, Rule
from asrctl.yamlfile import load_yaml

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind is None:
        return True
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if not isinstance(value, _JSON_TYPES[kind]):
        return False
    if kind == "array" and "items" in schema:
        return all(_type_ok(v, schema["items"]) for v in value)
    if kind in ("integer", "number"):
        return schema.get("minimum", value) <= value <= schema.get("maximum", value)
    return True


def load_policy_config(path: Path, rules: Sequence[Rule]) -> PolicyConfig:
    """Read and validate a policy config file against the rules' names and config schemas."""
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict):
        raise BadInput(f"{doc.where(())}: a policy config is a mapping of rule name (or 'all') to a level or settings")
    by_name = {r.name: r for r in rules}
    config: PolicyConfig = {}
    for name, value in data.items():
        where = doc.where((name,))
        if name != "all" and name not in by_name:
            raise BadInput(f"{where}: {name!r} is not a rule of this pack; `asrctl policy rules` lists the rule names")
        entry = {"enforcementLevel": value} if isinstance(value, str) else value
        if not isinstance(entry, dict):
            raise BadInput(f"{where}: {name}: give a level ({', '.join(ENFORCEMENT_LEVELS)}) or a mapping")
        entry = dict(entry)
        if entry.get("enforcementLevel") == "remediate":
            # Valid in --policy-pack-config; the pack has no remediations, so the engine reports these rules'
            # violations as mandatory (pulumi_policy downgrades remediate → mandatory). Same here.
            entry["enforcementLevel"] = "mandatory"
        schema = by_name[name].config if name != "all" else {}
        for key, setting in entry.items():
            if key == "enforcementLevel":
                if setting not in ENFORCEMENT_LEVELS:
                    raise BadInput(
                        f"{doc.where((name, key)) if isinstance(value, dict) else where}: {name}: enforcementLevel "
                        f"{setting!r} is not one of {', '.join(ENFORCEMENT_LEVELS)}, remediate"
                    )
            elif name == "all":
                raise BadInput(f"{doc.where((name, key))}: all: only enforcementLevel applies to every rule, not {key!r}")
            elif key not in schema:
                known = ", ".join(sorted(schema)) or "none"
                raise BadInput(f"{doc.where((name, key))}: {name}: {key!r} is not a setting of this rule (known: {known})")
            elif not _type_ok(setting, schema[key]):
                raise BadInput(f"{doc.where((name, key))}: {name}.{key}: {setting!r} is not a valid {schema[key]['type']}")
        config[name] = entry
    return config
