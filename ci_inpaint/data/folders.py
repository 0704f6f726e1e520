"""The user's own images on disk: plain folders, pix2pix / CycleGAN layouts, class folders,
and CIFAR-10's python pickle batches.

Conventions (whole repository): images are float32 (C, H, W) in [-1, 1]; items are dicts
with ``"image"`` and, where there is one, ``"label"`` (int64). Masks: 1 = hole, 0 = known.

Randomness changes every epoch, resumably (``ci_inpaint.data.epochs``): a dataset with a
random crop, a random flip (``flip=True``: left-right with probability 1/2) or a random partner
sets ``epoch_aware``; the engine then indexes it with ``EpochKey(epoch, index)`` and the item
is a pure function of ``(seed, epoch, index)``, drawn from ``item_generator(seed, epoch,
index)`` in a fixed order (partner, crop, flip), never from the global RNG. A plain int index
is epoch 0.

Files are listed at construction but decoded only when loaded (checking every file of
Places2 up front would take hours); :meth:`ImageFolder.verify` scans them all on request.

Resize policies (``resize=``):
- ``"shorter-side-then-center-crop"`` (default): scale so the shorter side is ``size``
  (bicubic, antialiased), then cut the central ``size`` x ``size`` square.
- ``"resize"``: squash the whole image to ``size`` x ``size`` (aspect ratio not kept).
- ``"random-crop"``: a ``size`` x ``size`` crop at native resolution at a position drawn from
  ``(seed, epoch, index)``; an image whose shorter side is below ``size`` is first scaled up.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .download import script_command
from .epochs import item_generator, split_key

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
RESIZE_POLICIES = ("shorter-side-then-center-crop", "resize", "random-crop")
#: Advice for an unreadable file; ImageFolder adds how to skip such files instead.
FIX_BAD_FILE = "delete or replace the file, then rerun"
SKIP_HINT = " (from Python, ImageFolder(..., skip_corrupt=True) skips such files)"


def _check_policy(resize: str) -> None:
    if resize not in RESIZE_POLICIES:
        raise DataError(f"unknown resize policy {resize!r}: use one of {', '.join(RESIZE_POLICIES)}")


def list_images(root: str | os.PathLike, extensions=IMAGE_EXTENSIONS,
                recursive: bool = True) -> list[Path]:
    """Sorted image files under ``root`` (case-insensitive extension match)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        hint = " (it is a file: pass the folder that holds the images)" if root.exists() else ""
        raise DataError(f"data root {root} does not exist{hint}: pass data_root=DIR pointing at "
                        f"a folder of images, or fetch a dataset with {script_command('<name>')}")
    exts = tuple(e.lower() for e in extensions)
    walk = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in walk if p.suffix.lower() in exts and p.is_file())


def _need_images(files: list, root, extensions, recursive: bool) -> None:
    if not files:
        where = "under" if recursive else "directly in"
        raise DataError(f"no images found {where} {root} (looked for {', '.join(extensions)}): "
                        "put image files there or pass extensions=(...) for other formats")


def open_image(path: Path, channels: int = 3, fix: str = FIX_BAD_FILE):
    """Decoded PIL image in RGB (or L); DataError naming the path (and ``fix``) if it cannot
    be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB" if channels == 3 else "L")
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBomb...
        raise DataError(f"cannot read image {path} ({type(e).__name__}: {e}): {fix}") from e


def _as_generator(gen: torch.Generator | int) -> torch.Generator:
    return gen if isinstance(gen, torch.Generator) else torch.Generator().manual_seed(int(gen))


def coin(gen: torch.Generator) -> bool:
    """One fair coin from ``gen`` (advances it by one draw)."""
    return bool(torch.rand((), generator=gen) < 0.5)


def random_hflip(img: torch.Tensor, gen: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Left-right flip with probability 1/2 when ``flip`` (draws from ``gen`` only then)."""
    return img.flip(-1) if flip and coin(gen) else img


def _crop_plan(w: int, h: int, size: int, policy: str, gen: torch.Generator | int):
    """(resized (w, h), crop box (left, top, right, bottom)) for one image, all policies;
    ``random-crop`` draws its position from ``gen`` (a generator, or an int seed)."""
    if policy == "resize":
        return (size, size), (0, 0, size, size)
    s = size / min(w, h)
    if policy == "random-crop" and s <= 1:
        nw, nh = w, h
    else:
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
    if policy == "random-crop":
        gen = _as_generator(gen)
        left = int(torch.randint(nw - size + 1, (), generator=gen))
        top = int(torch.randint(nh - size + 1, (), generator=gen))
    else:
        left, top = (nw - size) // 2, (nh - size) // 2
    return (nw, nh), (left, top, left + size, top + size)


def _apply_plan(im, plan) -> torch.Tensor:
    from PIL import Image

    (nw, nh), box = plan
    if (nw, nh) != im.size:
        im = im.resize((nw, nh), Image.BICUBIC, reducing_gap=None)
    arr = np.asarray(im.crop(box), dtype=np.uint8)
    t = torch.from_numpy(arr.copy())
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return t.float().div_(127.5).sub_(1.0)


def fit_image(im, size: int, policy: str = "shorter-side-then-center-crop",
              gen_seed: torch.Generator | int = 0) -> torch.Tensor:
    """PIL image -> (C, size, size) float32 in [-1, 1] under a resize policy (a random crop
    draws from ``gen_seed``: a generator, advanced, or an int seed)."""
    return _apply_plan(im, _crop_plan(*im.size, size, policy, gen_seed))


class ImageFolder(Dataset):
    """Every image file under ``root`` (sorted paths; recursive by default).

    Errors (:class:`DataError`, one line, naming the fix): missing root; a folder with no
    image (lists the extensions looked for); an unreadable file (names it); an image whose
    shorter side is below ``min_size`` (names it and its size). With ``skip_corrupt=True``
    (a keyword of this class and of ``get_dataset``, not a config key)
    an unreadable or too-small file is skipped instead: the item of the next readable index
    is returned (so ``__getitem__`` stays a pure function of the index), the path is added to
    ``skipped_paths``, ``skipped`` counts them and a warning is issued once per file.
    ``verify()`` checks all files now (and, with ``skip_corrupt``, drops the bad ones).
    ``files`` (paths, relative ones taken under ``root``) replaces the folder scan, e.g. for an
    official split list or a ``subset_N_seedS.txt`` written by ``data_scripts/places2.py``.

    ``flip=True`` mirrors left-right with probability 1/2; with it or ``resize="random-crop"``
    the dataset is epoch-aware (see the module docstring).

    Item: ``{"image": (channels, size, size), "index": int64}``.
    """

    def __init__(self, root, size: int, resize: str = "shorter-side-then-center-crop",
                 extensions=IMAGE_EXTENSIONS, recursive: bool = True, skip_corrupt: bool = False,
                 min_size: int | None = None, seed: int = 0, channels: int = 3,
                 verify: bool = False, files=None, flip: bool = False):
        _check_policy(resize)
        self.root = Path(root).expanduser()
        if files is None:
            self.files = list_images(self.root, extensions, recursive)
            _need_images(self.files, self.root, extensions, recursive)
        else:
            list_images(self.root, recursive=False)  # raises for a missing root
            self.files = [self.root / f for f in files]  # an absolute f stays as it is
            if not self.files:
                raise DataError(f"empty file list for {self.root}: check the split or list file")
        self.size, self.resize, self.seed, self.channels = size, resize, seed, channels
        self.skip_corrupt, self.min_size, self.flip = skip_corrupt, min_size, flip
        self.epoch_aware = resize == "random-crop" or flip
        self.skipped_paths: set[Path] = set()
        if verify:
            self.verify()

    @property
    def skipped(self) -> int:
        return len(self.skipped_paths)

    def __len__(self) -> int:
        return len(self.files)

    def _open_checked(self, path: Path):
        im = open_image(path, self.channels, FIX_BAD_FILE + SKIP_HINT)
        if self.min_size is not None and min(im.size) < self.min_size:
            raise DataError(f"image {path} is {im.size[0]}x{im.size[1]}, smaller than "
                            f"min_size={self.min_size}: delete or enlarge it, or lower min_size"
                            f"{SKIP_HINT}")
        return im

    def _skip(self, path: Path, err: DataError) -> None:
        if path not in self.skipped_paths:
            self.skipped_paths.add(path)
            warnings.warn(f"skipping {err} ({self.skipped} skipped so far)", stacklevel=3)

    def load(self, i: int):
        """(PIL image, index actually used); with skip_corrupt moves on to the next file."""
        for k in range(len(self.files)):
            j = (i + k) % len(self.files)
            try:
                return self._open_checked(self.files[j]), j
            except DataError as e:
                if not self.skip_corrupt:
                    raise
                self._skip(self.files[j], e)
        raise DataError(f"no readable image in {self.root}: every file failed to load")

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        if not 0 <= i < len(self.files):
            raise IndexError(f"index {i} out of range for {len(self.files)} images")
        im, j = self.load(i)
        gen = item_generator(self.seed, epoch, i)
        img = random_hflip(fit_image(im, self.size, self.resize, gen), gen, self.flip)
        return {"image": img, "index": torch.tensor(j, dtype=torch.int64)}

    def verify(self) -> dict:
        """Open every file; return ``{"ok": n, "bad": [(path, reason)]}``.

        Raises on the first bad file unless ``skip_corrupt``; with it, bad files are removed
        from ``files`` and counted in ``skipped``.
        """
        bad = []
        for p in self.files:
            try:
                self._open_checked(p)
            except DataError as e:
                if not self.skip_corrupt:
                    raise
                bad.append((p, str(e)))
                self._skip(p, e)
        dropped = {p for p, _ in bad}
        self.files = [p for p in self.files if p not in dropped]
        if not self.files:
            raise DataError(f"no readable image in {self.root}: all {len(bad)} files are bad")
        return {"ok": len(self.files), "bad": bad}


class PairedFolder(Dataset):
    """Aligned pairs for pix2pix-style training (facades, maps).

    Layouts, tried in order: ``root/{split}A/`` + ``root/{split}B/`` with the same file names
    (stems), or ``root/{split}/`` holding side-by-side images, A on the left half and B on the
    right. The same crop (policy as in :class:`ImageFolder`) and, with ``flip=True``, the same
    left-right flip are applied to A and B (pix2pix's joint augmentation); either makes the
    dataset epoch-aware. ``direction="AtoB"``: condition A, target B; ``"BtoA"`` swaps them.

    Item: ``{"image": target, "cond": condition, "A": ..., "B": ...}`` each (3, size, size).
    """

    def __init__(self, root, size: int, split: str = "train", direction: str = "AtoB",
                 resize: str = "shorter-side-then-center-crop", seed: int = 0,
                 flip: bool = False):
        if direction not in ("AtoB", "BtoA"):
            raise DataError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        _check_policy(resize)
        self.root = Path(root).expanduser()
        list_images(self.root, recursive=False)  # raises for a missing root
        self.size, self.split, self.direction, self.resize, self.seed = (
            size, split, direction, resize, seed)
        self.flip, self.epoch_aware = flip, resize == "random-crop" or flip
        da, db = self.root / f"{split}A", self.root / f"{split}B"
        if da.is_dir() and db.is_dir():
            fa, fb = list_images(da), list_images(db)
            sa, sb = {p.stem: p for p in fa}, {p.stem: p for p in fb}
            only = sorted(set(sa) ^ set(sb))
            if only:
                raise DataError(f"{da} and {db} must hold the same file names, {len(only)} do "
                                f"not match (e.g. {only[:3]}): remove unpaired files")
            self.pairs = [(sa[k], sb[k]) for k in sorted(sa)]
            self.layout = "A/B folders"
        elif (self.root / split).is_dir():
            self.pairs = [(p, None) for p in list_images(self.root / split)]
            self.layout = "side by side"
        else:
            raise DataError(f"no paired data in {self.root}: expected {split}/ with side-by-side "
                            f"A|B images or {split}A/ + {split}B/ (run "
                            f"{script_command('pix2pix.py')} --help)")
        _need_images(self.pairs, self.root / split, IMAGE_EXTENSIONS, True)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        pa, pb = self.pairs[i]
        if pb is None:
            ab = open_image(pa)
            w, h = ab.size
            if w < 2:
                raise DataError(f"{pa} is {w}x{h}: a side-by-side pair must be A|B, twice as wide")
            a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, 2 * (w // 2), h))
        else:
            a, b = open_image(pa), open_image(pb)
            if a.size != b.size:
                b = b.resize(a.size)
        gen = item_generator(self.seed, epoch, i)
        plan = _crop_plan(*a.size, self.size, self.resize, gen)
        ta, tb = _apply_plan(a, plan), _apply_plan(b, plan)
        if self.flip and coin(gen):
            ta, tb = ta.flip(-1), tb.flip(-1)
        cond, target = (ta, tb) if self.direction == "AtoB" else (tb, ta)
        return {"image": target, "cond": cond, "A": ta, "B": tb}


class UnpairedFolder(Dataset):
    """Unaligned domains for CycleGAN / CUT (horse2zebra): ``root/{split}A/``, ``root/{split}B/``.

    Length = max of the two domains (CycleGAN's convention); item i pairs A[i % len(A)] with
    B[j], j = :meth:`b_index` drawn afresh every epoch (epoch-aware: a pure function of
    ``(seed, epoch, i)``). Crops (policy as in :class:`ImageFolder`) and, with ``flip=True``,
    left-right flips are drawn for A and B independently, as CycleGAN does.

    Item: ``{"image": A, "A": A, "B": B}`` each (3, size, size): translate A into domain B.
    """

    epoch_aware = True  # the partner changes every epoch

    def __init__(self, root, split: str = "train", size: int = 256, seed: int = 0,
                 resize: str = "shorter-side-then-center-crop", flip: bool = False):
        _check_policy(resize)
        self.root = Path(root).expanduser()
        list_images(self.root, recursive=False)  # raises for a missing root
        missing = [d for d in (f"{split}A", f"{split}B") if not (self.root / d).is_dir()]
        if missing:
            raise DataError(f"unpaired data in {self.root} needs {split}A/ and {split}B/, "
                            f"missing {', '.join(missing)} (run {script_command('cyclegan.py')})")
        self.files_a = list_images(self.root / f"{split}A")
        self.files_b = list_images(self.root / f"{split}B")
        _need_images(self.files_a, self.root / f"{split}A", IMAGE_EXTENSIONS, True)
        _need_images(self.files_b, self.root / f"{split}B", IMAGE_EXTENSIONS, True)
        self.size, self.split, self.seed, self.resize, self.flip = size, split, seed, resize, flip

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def _partner(self, epoch: int, i: int) -> tuple[int, torch.Generator]:
        gen = item_generator(self.seed, epoch, i)
        return int(torch.randint(len(self.files_b), (), generator=gen)), gen

    def b_index(self, i: int, epoch: int = 0) -> int:
        """Index into ``files_b`` of item i's partner in ``epoch``."""
        return self._partner(epoch, i)[0]

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        j, gen = self._partner(epoch, i)
        a = fit_image(open_image(self.files_a[i % len(self.files_a)]), self.size, self.resize, gen)
        a = random_hflip(a, gen, self.flip)
        b = random_hflip(fit_image(open_image(self.files_b[j]), self.size, self.resize, gen), gen,
                  self.flip)
        return {"image": a, "A": a, "B": b}


class UnpairedView(Dataset):
    """A paired dataset read as two unaligned domains (CUT's Cityscapes labels -> photos):
    item i takes domain A from pair i and domain B from pair j = :meth:`b_index`, drawn afresh
    every epoch as :class:`UnpairedFolder` does, so the pairing is never seen in training.
    ``a_key`` / ``b_key`` name the fields of the paired item used as A and B.

    Item: ``{"image": A, "A": A, "B": B}``.
    """

    epoch_aware = True

    def __init__(self, paired: Dataset, a_key: str = "A", b_key: str = "B", seed: int = 0):
        self.paired, self.a_key, self.b_key, self.seed = paired, a_key, b_key, seed

    def __len__(self) -> int:
        return len(self.paired)

    def b_index(self, i: int, epoch: int = 0) -> int:
        # a salt keeps the partner draw apart from the paired item's own crop/flip draws
        gen = item_generator(self.seed + 7919, epoch, i)
        return int(torch.randint(len(self.paired), (), generator=gen))

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        a = self.paired[(epoch, i)][self.a_key]
        b = self.paired[(epoch, self.b_index(i, epoch))][self.b_key]
        return {"image": a, "A": a, "B": b}


class ClassFolder(Dataset):
    """One sub-folder per class (``root/<class>/**/image``); labels index the sorted names.

    ``classes`` is the sorted list of folder names, ``class_to_idx`` its inverse. Random crops
    and ``flip=True`` are epoch-aware, as in :class:`ImageFolder`.
    Item: ``{"image": (3, size, size), "label": int64}``.
    """

    def __init__(self, root, size: int, resize: str = "shorter-side-then-center-crop",
                 seed: int = 0, extensions=IMAGE_EXTENSIONS, flip: bool = False):
        _check_policy(resize)
        self.root = Path(root).expanduser()
        list_images(self.root, extensions, recursive=False)  # raises for a missing root
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.classes:
            raise DataError(f"no class folders in {self.root}: expected {self.root}/<class>/"
                            "<images> with one sub-folder per class")
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        per_class = {c: list_images(self.root / c, extensions) for c in self.classes}
        empty = [c for c, fs in per_class.items() if not fs]
        if empty:
            raise DataError(f"class folders without images in {self.root}: {', '.join(empty)} "
                            f"(looked for {', '.join(extensions)}): add images or remove them")
        self.samples = [(p, self.class_to_idx[c]) for c in self.classes for p in per_class[c]]
        self.size, self.resize, self.seed, self.flip = size, resize, seed, flip
        self.epoch_aware = resize == "random-crop" or flip

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        path, label = self.samples[i]
        gen = item_generator(self.seed, epoch, i)
        img = random_hflip(fit_image(open_image(path), self.size, self.resize, gen), gen, self.flip)
        return {"image": img, "label": torch.tensor(label, dtype=torch.int64)}


def _cifar_dir(root: Path) -> Path:
    return root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root


def _cifar_batches(split: str) -> list[str]:
    if split not in ("train", "val", "test"):
        raise DataError(f"CIFAR-10 split must be train, val or test, got {split!r}")
    return [f"data_batch_{k}" for k in range(1, 6)] if split == "train" else ["test_batch"]


def cifar10_missing(root, split: str = "train") -> list[str]:
    """The CIFAR-10 batch files :class:`CIFAR10` needs for ``split`` that ``root`` lacks."""
    root = Path(root).expanduser()
    d = _cifar_dir(root)
    names = _cifar_batches(split)
    missing = [n for n in names if not (d / n).is_file()]
    # name the sub-folder the script makes, unless root itself holds some of the batches
    inside = d != root or len(missing) == len(names)
    return [f"cifar-10-batches-py/{n}" if inside else n for n in missing]


class CIFAR10(Dataset):
    """CIFAR-10 from the standard python batches (``cifar-10-batches-py``), no download.

    ``root`` is the folder holding ``cifar-10-batches-py/`` or that folder itself. Splits:
    ``train`` = data_batch_1..5 (50 000), ``test`` = test_batch (10 000); CIFAR-10 has no
    official validation split, so ``val`` is the test batch, as in the GAN papers (DivCo).
    The batches are pickles: only load files you fetched yourself (data_scripts/cifar10.py
    checks their md5). ``classes`` comes from ``batches.meta`` when present. ``flip=True``
    mirrors left-right with probability 1/2, drawn from ``(seed, epoch, index)`` (epoch-aware).

    Item: ``{"image": (3, 32, 32) or (3, size, size), "label": int64}``.
    """

    def __init__(self, root, split: str = "train", size: int = 32, flip: bool = False,
                 seed: int = 0):
        root = Path(root).expanduser()
        d = _cifar_dir(root)
        missing = cifar10_missing(root, split)
        if missing:
            raise DataError(f"CIFAR-10 batches missing in {root}: {', '.join(missing)}; run "
                            f"{script_command('cifar10.py')} --root {root}")
        names = _cifar_batches(split)
        data, labels = [], []
        for n in names:
            with open(d / n, "rb") as fh:
                try:
                    batch = pickle.load(fh, encoding="bytes")
                except Exception as e:
                    raise DataError(f"cannot read CIFAR-10 batch {d / n} ({e}): delete it and "
                                    f"run {script_command('cifar10.py')} --root DIR") from e
            data.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(batch[b"labels"])
        self.images = torch.from_numpy(np.concatenate(data))  # uint8, 1/4 the memory of float
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.classes = [f"class_{k}" for k in range(10)]
        if (d / "batches.meta").is_file():
            with open(d / "batches.meta", "rb") as fh:
                meta = pickle.load(fh, encoding="bytes")
            self.classes = [c.decode() for c in meta.get(b"label_names", [])] or self.classes
        self.size, self.flip, self.seed, self.epoch_aware = size, flip, seed, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        img = self.images[i].float().div(127.5).sub(1.0)
        if self.flip:
            img = random_hflip(img, item_generator(self.seed, epoch, i), True)
        if self.size != 32:
            img = torch.nn.functional.interpolate(img[None], size=(self.size, self.size),
                                                  mode="bilinear", antialias=True,
                                                  align_corners=False)[0].clamp(-1, 1)
        return {"image": img, "label": self.labels[i]}
