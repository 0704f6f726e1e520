#!/usr/bin/env python
"""Download, verify and extract CIFAR-10 (python version, md5-checked).

Used by DivCo's class-conditional DCGAN setting (32x32). Example:
    .venv/bin/python data_scripts/cifar10.py --root /data/cifar10
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main

if __name__ == "__main__":
    sys.exit(script_main(["cifar10"], __doc__))
