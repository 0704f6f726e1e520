#!/usr/bin/env python
"""Download, verify and extract Places2 (Places365-Standard, 256x256 images).

The archives are plain HTTP downloads from data.csail.mit.edu (md5s as torchvision records
them); by running this script you accept the Places365 terms of use. ``--split val`` (36,500
images, ~0.5 GB) is the default; ``--split train`` is ~24 GB. ``--subset N`` then writes a
deterministic list of N image paths (``subset_<N>_seed<S>.txt`` in the root; the choice
depends only on the seed and the file names), e.g. SCAT's 5k evaluation images. Example:
    .venv/bin/python data_scripts/places2.py --split val --subset 5000 --root /data/places2_val
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main, write_subset_list


def add_args(parser):
    parser.add_argument("--subset", type=int, metavar="N", default=0,
                        help="also write a deterministic list of N images of the split")
    parser.add_argument("--subset-seed", type=int, default=0, help="seed of --subset")


def after(args, spec, root):
    if args.subset > 0:
        pattern = spec.layout[0][0]  # the image glob of the split
        out = write_subset_list(root, pattern, args.subset, args.subset_seed)
        print(f"{spec.name}: wrote {args.subset} image paths to {out}")


if __name__ == "__main__":
    sys.exit(script_main({"val": "places2_val", "train": "places2_train"}, __doc__,
                         add_args=add_args, after=after, choice_flag="--split"))
