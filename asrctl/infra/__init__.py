"""The DR site's building blocks: one Pulumi ComponentResource per module, composed by :mod:`asrctl.infra.site`.

Modules here import Pulumi and pulumi-azure-native at import time, so only the Pulumi program (``__main__.py``),
the mock-mode harness and tests import them; the CLI never does at start-up.
"""
