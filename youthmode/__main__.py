"""`python -m youthmode`: the same as the `youthmode` command."""

import sys

from youthmode.cli import main

sys.exit(main())
