import sys

from asrctl.cli import main

sys.exit(main())
