#!/usr/bin/env python
"""Download and extract the NVIDIA irregular mask test set (Liu et al. 2018, partial convolutions).

12,000 512x512 PNG masks, white = hole, in six hole-ratio bins of 10 % (2,000 each, half with
holes touching the border); SCAT trains and evaluates with them (buckets 0-20/20-40/40-60 %).
The zip is the test set linked from https://nv-adlr.github.io/publication/partialconv-inpainting
(a Dropbox link). No checksum is published: the first download records the sha256 of
test_mask.zip in the .complete stamp and prints it. ``--buckets`` then counts the masks per
hole-ratio bucket at ``--size`` (cached next to the masks). Load them with
``ci_inpaint.data.masks.MaskFolder(ROOT / "mask/testing_mask_dataset", size=256)``. Example:
    .venv/bin/python data_scripts/nvidia_masks.py --root /data/nvidia_masks --buckets
"""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

from ci_inpaint.data.download import script_main


def add_args(parser):
    parser.add_argument("--buckets", action="store_true",
                        help="print how many masks fall in each hole-ratio bucket")
    parser.add_argument("--size", type=int, default=256, help="mask size for --buckets")


def after(args, spec, root):
    folder = root / "mask" / "testing_mask_dataset"
    print(f"{spec.name}: masks in {folder}")
    if args.buckets:
        from ci_inpaint.data.masks import HOLE_BUCKETS, MaskFolder, bucket_of

        counts = Counter(bucket_of(r) for r in MaskFolder(folder, args.size).ratios().values())
        print("  " + ", ".join(f"{b} %: {counts.get(b, 0)}" for b in HOLE_BUCKETS))


if __name__ == "__main__":
    sys.exit(script_main(["nvidia_masks"], __doc__, add_args=add_args, after=after))
