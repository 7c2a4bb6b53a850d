"""Benchmark: asrctl's YAML reader on a large stack file, against two baselines measured in the same run.

It writes a stack of ``--machines`` machines (the prod stack's 40 plus generated ones, as ``preview_scale.py``
does) and measures the CPU time of

  asrctl      asrctl.yamlfile.load_yaml: data + the line of every key and list item, hostile input refused
  plain       yaml.load(text, Loader=yaml.CSafeLoader): libyaml, no line map, no checks (the floor)
  old         the reader before issue 16 (kept below): pure-Python compose, a new SafeLoader per scalar

each the best of ``--repeat`` runs, checks that all three read the same data (and asrctl/old the same lines),
and prints the ratios. Target: asrctl < 0.8 s for 4,000 machines. CPU time is compared, not wall time: on a shared
machine the wall time mostly measures the other processes.

    .venv/bin/python benchmarks/yaml_parse.py [--machines 4000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from asrctl.yamlfile import load_yaml

PROJECT = Path(__file__).resolve().parent.parent


def write_stack(root: Path, machines: int) -> Path:
    """The prod (modernized) stack grown to ``machines`` machines — the same valid stack preview_scale.py previews
    (bulk subnets, one appliance per 200 machines, every machine discovered) — and its path."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from preview_scale import STACK, write_project

    write_project(root, machines, "modernized")
    return root / "stacks" / f"Pulumi.{STACK}.yaml"


# --- the reader before issue 16, verbatim in substance (asrctl/yamlfile.py at c88b8da) ----------------------------


def _old_build(node: yaml.Node, key_path: tuple, lines: dict, source: Path) -> Any:
    lines[key_path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _old_construct(key_node)
            result[key] = _old_build(value_node, key_path + (key,), lines, source)
            lines[key_path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_old_build(item, key_path + (i,), lines, source) for i, item in enumerate(node.value)]
    return _old_construct(node)


def _old_construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def old_parse(text: str, path: Path) -> tuple[Any, dict]:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None, {(): 1}
    lines: dict = {}
    return _old_build(node, (), lines, path), lines


def old_load(path: Path) -> tuple[Any, dict]:
    return old_parse(path.read_text(encoding="utf-8"), path)


# -------------------------------------------------------------------------------------------------------------


def best_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        best = min(best, time.process_time() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_stack(Path(tmp), args.machines)
        size = path.stat().st_size
        new_s, doc = best_cpu(lambda: load_yaml(path), args.repeat)
        plain_s, plain = best_cpu(lambda: yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader),
                                  args.repeat)
        old_s, (old_data, old_lines) = best_cpu(lambda: old_load(path), args.repeat)
    assert doc.data == plain == old_data, "the readers disagree on the data"
    assert doc.lines == old_lines, "the line maps differ"
    print(f"stack of {args.machines} machines: {size / 1e6:.2f} MB, {len(doc.lines)} located keys and items; "
          f"CPU seconds, best of {args.repeat}")
    print(f"  asrctl (events, line map, checks)   {new_s:6.3f} s   target < 0.8 s: {'met' if new_s < 0.8 else 'MISSED'}")
    print(f"  plain CSafeLoader, no line map      {plain_s:6.3f} s   asrctl / plain = {new_s / plain_s:.2f}")
    print(f"  old reader (before issue 16)        {old_s:6.3f} s   old / asrctl = {old_s / new_s:.1f}x")


if __name__ == "__main__":
    main()
