#!/usr/bin/env python
"""Verify Paris StreetView (Pathak et al. 2016). MANUAL: given out by its authors on request.

Prints how to request it and where to unpack it, then checks the layout (14,900 training and
100 test images) and stamps the folder. Example:
    .venv/bin/python data_scripts/paris_streetview.py --root /data/paris_streetview
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main(["paris_streetview"], __doc__))
