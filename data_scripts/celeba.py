#!/usr/bin/env python
"""Verify and extract CelebA (aligned faces). MANUAL download: licence and host forbid scripting.

Prints what to fetch from the CelebA page and where to put it, then checks the md5 checksums
(the ones torchvision records), extracts img_align_celeba.zip and stamps the folder. Example:
    .venv/bin/python data_scripts/celeba.py --root /data/celeba
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main(["celeba"], __doc__))
