"""Pulumi CrossGuard entry point: `pulumi preview --policy-pack policy`.

The only place that constructs ``PolicyPack``: it starts the analyzer's gRPC server, prints its port on stdout for
the Pulumi engine and blocks. The rules, their metadata and the stack context are asrctl's own
(asrctl.policy.pack), so this pack and `asrctl policy check` enforce exactly the same thing. Enforcement levels
and rule properties can be overridden with `--policy-pack-config FILE` (same format as `asrctl policy check
--config`).
"""

import sys
from pathlib import Path

# Run from a checkout without an installed asrctl (the engine starts this file with the pack directory as cwd).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack  # noqa: E402

from asrctl.policy.pack import pack_arguments  # noqa: E402

PolicyPack(**pack_arguments())
