"""``asrctl`` for the crash tests (test_crash.py): the real CLI, the real Azure provider and journal, but polling ASR
jobs every 0.05 s instead of every 30 s (the stand-in's clock runs fast). Nothing else differs."""

import sys
from dataclasses import replace

from asrctl.recovery.providers.azure import AzureProvider

AzureProvider.capabilities = replace(AzureProvider.capabilities, poll_interval=0.05)

if __name__ == "__main__":
    from asrctl.cli import main

    sys.exit(main(sys.argv[1:]))
