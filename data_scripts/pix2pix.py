#!/usr/bin/env python
"""Download, extract and check a pix2pix paired dataset (facades, maps or cityscapes).

From the pix2pix authors' server (efrosgans.eecs.berkeley.edu). No checksums are published:
the first download records each archive's sha256 in the .complete stamp and prints it.
Example:
    .venv/bin/python data_scripts/pix2pix.py --name facades --root /data/facades
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main({"facades": "pix2pix_facades", "maps": "pix2pix_maps",
                         "cityscapes": "pix2pix_cityscapes"}, __doc__))
