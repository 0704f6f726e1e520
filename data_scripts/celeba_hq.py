#!/usr/bin/env python
"""Verify and extract CelebA-HQ (CelebAMask-HQ: 30k faces + part masks). MANUAL download.

The archive lives on Google Drive/Baidu under a non-commercial agreement, so the script prints
what to fetch and where, then verifies the layout, extracts and stamps the folder. No checksum
is published: the first run records the sha256 of CelebAMask-HQ.zip in the .complete stamp.
Example:
    .venv/bin/python data_scripts/celeba_hq.py --root /data/celeba_hq
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main(["celeba_hq"], __doc__))
