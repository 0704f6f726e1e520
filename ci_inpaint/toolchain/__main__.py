"""``python -m ci_inpaint.toolchain`` (= ``python -m ci_inpaint.notebooks``): run | sync |
execute | check."""

import sys

from .cli import main

sys.exit(main())
