"""Pulumi.yaml: the project the program runs in, and its config schema (only types Pulumi supports)."""

from __future__ import annotations

from pathlib import Path

import yaml

from asrctl.config import SECRET_KEYS, StackConfig
from asrctl.project import PROJECT_NAME, known_stacks, stack_file

PROJECT = Path(__file__).resolve().parents[2]
# Pulumi's project-level config schema types (there is no object type; structured keys stay undeclared).
SCHEMA_TYPES = {"string", "integer", "boolean", "array"}


def _project() -> dict:
    return yaml.safe_load((PROJECT / "Pulumi.yaml").read_text())


def test_project_runs_python_from_the_venv_with_stacks_in_stacks_dir() -> None:
    project = _project()
    assert project["name"] == PROJECT_NAME
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert project["stackConfigDir"] == "stacks"
    assert (PROJECT / "__main__.py").is_file()


def test_declared_config_keys_use_supported_types_and_exist_in_the_model() -> None:
    aliases = {f.alias for f in StackConfig.model_fields.values() if f.alias}
    for key, schema in _project()["config"].items():
        assert schema["type"] in SCHEMA_TYPES, f"Pulumi.yaml config.{key}: type {schema['type']!r} is not supported"
        assert schema.get("description"), f"Pulumi.yaml config.{key}: needs a description"
        if schema["type"] == "array":
            assert "items" in schema, f"Pulumi.yaml config.{key}: arrays need items"
        assert key in aliases or key in SECRET_KEYS, f"Pulumi.yaml config.{key} is not a StackConfig key"
        if key in SECRET_KEYS:
            assert schema.get("secret") is True, f"Pulumi.yaml config.{key} must be declared secret"


def test_every_stack_sets_every_declared_key_without_default() -> None:
    # The Pulumi CLI refuses to run a stack that misses a declared key without a default.
    required = [k for k, schema in _project()["config"].items() if "default" not in schema]
    for stack in known_stacks():
        config = yaml.safe_load(stack_file(stack).read_text())["config"]
        for key in required:
            assert f"{PROJECT_NAME}:{key}" in config, f"stacks/Pulumi.{stack}.yaml lacks {PROJECT_NAME}:{key}"
