#!/usr/bin/env python
"""Faces for ContrasFill's full profile: CelebAMask-HQ images with the face box as the hole.

First get and extract CelebAMask-HQ (manual download: `data_scripts/celeba_hq.py --root R`).
This script then reads R/CelebAMask-HQ/{CelebA-HQ-img, CelebAMask-HQ-mask-anno,
CelebA-HQ-to-CelebA-mapping.txt}, takes the union of the face parts of each image's part masks
(skin, brows, eyes, glasses, ears, earring, nose, mouth, lips: not hair, neck, hat or cloth),
and writes OUT/<split>/images/<idx>.png resized to --size with OUT/<split>/boxes.json
({file: [x0, y0, x1, y1]}, half-open, at --size). Splits: CelebA's official partition of the
source image, as ``ci_inpaint.data`` uses it (the paper "follows the official split").
Example:
    .venv/bin/python data_scripts/celebamask_hq.py --root /data/celeba_hq --out /data/cf_faces
then train with --set data_root=/data/cf_faces known_encoder=/path/arcface_torchscript.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout uninstalled

FACE_PARTS = ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
              "nose", "mouth", "u_lip", "l_lip")
BOUNDS = {"train": (0, 162_770), "val": (162_770, 182_637), "test": (182_637, 1 << 62)}


def face_box(anno: Path, idx: int, size: int):
    """Tight box of the union of the face parts of image ``idx`` at ``size`` px, or None."""
    import numpy as np
    from PIL import Image

    union, shape = None, None
    for part in FACE_PARTS:
        p = anno / str(idx // 2000) / f"{idx:05d}_{part}.png"
        if p.is_file():
            m = np.asarray(Image.open(p).convert("L")) > 127
            union = m if union is None else union | m
            shape = m.shape
    if union is None or not union.any():
        return None
    rows, cols = np.nonzero(union.any(1))[0], np.nonzero(union.any(0))[0]
    sy, sx = size / shape[0], size / shape[1]
    return [int(cols.min() * sx), int(rows.min() * sy), int(np.ceil((cols.max() + 1) * sx)),
            int(np.ceil((rows.max() + 1) * sy))]


def prepare(root: Path, out: Path, size: int = 256, limit: int = 0) -> dict[str, int]:
    """Write every split; returns the number of faces per split (images without parts skipped)."""
    from PIL import Image

    base = root / "CelebAMask-HQ" if (root / "CelebAMask-HQ").is_dir() else root
    mapping = base / "CelebA-HQ-to-CelebA-mapping.txt"
    if not mapping.is_file():
        raise SystemExit(f"error: {mapping} not found: extract CelebAMask-HQ first with "
                         f".venv/bin/python data_scripts/celeba_hq.py --root {root}")
    rows = [ln.split() for ln in mapping.read_text().splitlines()[1:] if len(ln.split()) >= 2]
    counts = {}
    for split, (lo, hi) in BOUNDS.items():
        d = out / split / "images"
        d.mkdir(parents=True, exist_ok=True)
        boxes = {}
        for r in rows:
            idx = int(r[0])
            if not lo <= int(r[1]) < hi or (limit and len(boxes) >= limit):
                continue
            box = face_box(base / "CelebAMask-HQ-mask-anno", idx, size)
            if box is None:
                continue
            name = f"{idx:05d}.png"
            Image.open(base / "CelebA-HQ-img" / f"{idx}.jpg").convert("RGB").resize(
                (size, size), Image.BICUBIC).save(d / name)
            boxes[name] = box
        (out / split / "boxes.json").write_text(json.dumps(boxes, indent=0))
        counts[split] = len(boxes)
    return counts


def main(argv=None) -> int:
    from ci_inpaint.data.download import SPECS, describe

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="datasets: (the source this script reads)\n"
                                + describe(SPECS["celeba_hq"]))
    p.add_argument("--root", type=Path, required=True, help="the extracted CelebAMask-HQ folder")
    p.add_argument("--out", type=Path, required=True, help="where to write the faces and boxes")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--limit", type=int, default=0, help="at most this many faces per split (0 = all)")
    a = p.parse_args(argv)
    counts = prepare(a.root, a.out, a.size, a.limit)
    print(", ".join(f"{k}: {v} faces" for k, v in counts.items()) + f" written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
