"""ContrasFill's face data (:mod:`ci_inpaint.methods.contrasfill`): faces with their face box
prepared by ``data_scripts/celebamask_hq.py``, and the held-out contexts the evaluation fills."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from ..errors import DataError


class FaceBoxes(torch.utils.data.Dataset):
    """Faces prepared by ``data_scripts/celebamask_hq.py``: ``root/<split>/images/*.png`` and
    ``root/<split>/boxes.json`` ({file: [x0, y0, x1, y1]} at ``size``); items carry ``image``
    and ``box`` (the hole is the face box, as the paper's main study)."""

    def __init__(self, root: str, split: str = "train", size: int = 256):
        d = Path(root) / split
        boxes = d / "boxes.json"
        if not boxes.is_file():
            raise DataError(f"{boxes} not found: prepare the faces with "
                            f".venv/bin/python data_scripts/celebamask_hq.py --root {root}")
        self.dir, self.size = d / "images", size
        self.boxes = json.loads(boxes.read_text())
        self.files = sorted(self.boxes)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image

        img = Image.open(self.dir / self.files[i]).convert("RGB").resize((self.size,) * 2)
        x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        x = x.view(self.size, self.size, 3).permute(2, 0, 1).float() / 127.5 - 1
        return {"image": x, "box": torch.tensor(self.boxes[self.files[i]], dtype=torch.long)}


def box_holes(base, cfg, seed: int):
    """``base`` with ContrasFill's hole: the object's box grown by ``cfg.hole_dilate`` px (the
    same rule in training and evaluation)."""
    from .inpaint import MaskedDataset, object_masks

    return MaskedDataset(base, object_masks("box", dilate=cfg.hole_dilate), seed=seed)


def eval_items(method, n: int, seed: int = 7) -> dict[str, Tensor]:
    """``n`` held-out contexts (another FactorShapes seed than training) with their box holes
    (grown by ``hole_dilate``, as in training):
    ``image``, ``mask``, ``label``, ``factors``."""
    from ..methods.contrasfill import shapes

    cfg = method.cfg
    if cfg.dataset != "factor_shapes":
        base = FaceBoxes(cfg.data_root, "test", cfg.resolution)
    else:
        base = shapes(cfg, n, seed)
    ds = box_holes(base, cfg, seed)
    items = [ds[i] for i in range(min(n, len(ds)))]
    return {key: torch.stack([it[key] for it in items]) for key in items[0]
            if isinstance(items[0][key], Tensor)}


__all__ = ["FaceBoxes", "box_holes", "eval_items"]
