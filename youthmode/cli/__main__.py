"""`python -m youthmode.cli`: the same as the `youthmode` command."""

import sys

from youthmode.cli import main

sys.exit(main())
