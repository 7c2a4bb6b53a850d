import sys

from asrctl.cli import console_main

sys.exit(console_main())
