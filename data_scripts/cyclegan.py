#!/usr/bin/env python
"""Download, extract and check the CycleGAN horse2zebra unpaired dataset.

From the CycleGAN authors' server (efrosgans.eecs.berkeley.edu). No checksum is published:
the first download records the archive's sha256 in the .complete stamp and prints it.
Example:
    .venv/bin/python data_scripts/cyclegan.py --root /data/horse2zebra
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main({"horse2zebra": "cyclegan_horse2zebra"}, __doc__))
