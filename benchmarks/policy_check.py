"""Benchmark: `asrctl policy check` on the sample stacks, before and after issue 16, in one run.

"before" is the old path, reachable from today's code:

  * the old YAML reader (pure-Python compose, a new SafeLoader per scalar: benchmarks/yaml_parse.py keeps it);
  * no parse reuse: the stack file parsed by the config, again by the mock-mode program, and a third time for SARIF,
    the plan files twice;
  * the properties deserialized and proxied once per rule and resource (``evaluate(properties_per_rule=True)``,
    what the engine does).

"after" is the command as it is. For each stack and format the command runs in-process (``asrctl.cli.main``) and
the benchmark records the CPU time of the whole command and of its parts (YAML parsing, rule evaluation; the
rest is the Pulumi program under mocks, the same code in both), best of ``--repeat``, and checks that both paths
print exactly the same report. CPU time is compared, not wall time: on a shared machine the wall time mostly
measures the other processes.

It then shows the evaluation alone at scale (the part issue 16 is about, the program under mocks aside): the prod
preview's resources copied ``--copies`` times (renamed, with their parents and dependencies), evaluated with
properties per rule and shared.

    .venv/bin/python benchmarks/policy_check.py [--stacks dev,prod] [--formats text,sarif] [--repeat 3] [--copies 40]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from yaml_parse import old_parse  # noqa: E402  (the old reader, kept in one place)

import asrctl.mockmode  # noqa: E402
import asrctl.policy.evaluate  # noqa: E402
from asrctl import yamlfile  # noqa: E402
from asrctl.cli import main  # noqa: E402


class Meter:
    """CPU seconds and calls spent in wrapped functions during one command."""

    def __init__(self) -> None:
        self.cpu: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - started
                self.calls[name] += 1

        return timed


def _old_parse_yaml(text: str, path: Path) -> yamlfile.LocatedYaml:
    """The old reader behind today's load_yaml (reading and decoding are the same in both)."""
    data, lines = old_parse(text, path)
    return yamlfile.LocatedYaml(path, data, lines)


@contextlib.contextmanager
def patched(meter: Meter, before: bool) -> Iterator[None]:
    saved = (yamlfile.parse_yaml, yamlfile.parse_once, asrctl.policy.evaluate.evaluate)
    parse = _old_parse_yaml if before else saved[0]
    evaluate = functools.partial(saved[2], properties_per_rule=True) if before else saved[2]
    yamlfile.parse_yaml = meter.wrap("parse", parse)
    asrctl.policy.evaluate.evaluate = meter.wrap("evaluate", evaluate)
    if before:
        yamlfile.parse_once = contextlib.nullcontext  # every reader parses again
    try:
        yield
    finally:
        yamlfile.parse_yaml, yamlfile.parse_once, asrctl.policy.evaluate.evaluate = saved


def run(stack: str, fmt: str, before: bool) -> tuple[float, Meter, str, int]:
    meter = Meter()
    out = io.StringIO()
    with patched(meter, before), contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        started = time.process_time()
        code = main(["policy", "check", "--stack", stack, "--format", fmt])
        total = time.process_time() - started
    return total, meter, out.getvalue(), code


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="dev,prod")
    parser.add_argument("--formats", default="text,sarif")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()
    print(f"CPU seconds, best of {args.repeat}; before = old reader, no parse reuse, properties per rule")
    print(f"{'stack/format':<14} {'part':<12} {'before':>8} {'after':>8} {'after/before':>13}  YAML parses before → after")
    for stack in args.stacks.split(","):
        run(stack, "text", before=False)  # warm-up: imports and first-use caches are no part of either figure
        for fmt in args.formats.split(","):
            best: dict[bool, tuple[float, Meter]] = {}
            outputs: dict[bool, tuple[str, int]] = {}
            for _ in range(args.repeat):
                for before in (True, False):
                    total, meter, out, code = run(stack, fmt, before)
                    outputs[before] = (out, code)
                    if before not in best or total < best[before][0]:
                        best[before] = (total, meter)
            assert outputs[True] == outputs[False], f"{stack} {fmt}: the report differs before and after"
            (old_total, old), (new_total, new) = best[True], best[False]
            label = f"{stack}/{fmt}"
            for part, before_s, after_s in (
                ("YAML", old.cpu["parse"], new.cpu["parse"]),
                ("evaluation", old.cpu["evaluate"], new.cpu["evaluate"]),
                ("command", old_total, new_total),
            ):
                parses = f"  {old.calls['parse']} → {new.calls['parse']}" if part == "YAML" else ""
                print(f"{label:<14} {part:<12} {before_s:8.3f} {after_s:8.3f} {after_s / before_s:13.2f}{parses}")
                label = ""
    print("reports identical before and after: yes (checked for every stack and format)")
    evaluation_at_scale(args.copies, args.repeat)


def evaluation_at_scale(copies: int, repeat: int) -> None:
    import dataclasses

    from asrctl.config import load_stack
    from asrctl.plans import load_plans_for_stack
    from asrctl.policy.context import stack_policy_config
    from asrctl.policy.evaluate import evaluate

    base = asrctl.mockmode.run_program("prod").resources
    cfg = load_stack("prod")
    config = stack_policy_config(cfg, load_plans_for_stack(cfg, "prod"))

    def renamed(urn: str | None, i: int) -> str | None:
        return f"{urn}-{i}" if urn else urn

    resources = [
        dataclasses.replace(r, name=f"{r.name}-{i}", urn=renamed(r.urn, i), parent=renamed(r.parent, i),
                            dependencies=tuple(f"{d}-{i}" for d in r.dependencies))
        for i in range(copies)
        for r in base
    ]
    figures = {}
    for per_rule in (True, False):
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            report = evaluate("prod", resources, config, properties_per_rule=per_rule)
            best = min(best, time.process_time() - started)
        figures[per_rule] = (best, len(report.violations))
    assert figures[True][1] == figures[False][1]
    (before, _), (after, _) = figures[True], figures[False]
    print(f"evaluation alone, {len(resources)} resources ({copies} copies of prod), {len(report.rules)} rules: "
          f"before {before:.2f} s, after {after:.2f} s, after/before {after / before:.2f}")


if __name__ == "__main__":
    main_()
