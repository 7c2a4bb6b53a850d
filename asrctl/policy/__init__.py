"""Policy as code for the DR site: one rule per module in ``asrctl.policy.rules``.

The same rule objects serve two engines:

* ``policy/__main__.py`` wraps them into a CrossGuard ``PolicyPack`` for ``pulumi preview --policy-pack policy``;
* ``asrctl policy check`` evaluates them in-process over the mock-mode preview (:mod:`asrctl.policy.evaluate`).

Rules get stack context (RPO bound, on-prem ranges, plans, …) only from their policy config, which
:mod:`asrctl.policy.context` derives from the stack configuration: no globals, so both engines see the same values.
This package imports no Pulumi module at import time; ``pulumi_policy`` is loaded where a policy object is built.
"""
