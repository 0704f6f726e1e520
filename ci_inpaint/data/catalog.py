"""Registry of every dataset by name: ``get_dataset(name, split, size)`` and ``dataset_table()``.

Kinds: ``bundled`` (ships inside scikit-image / scikit-learn), ``synthetic`` (generated from a
seed), ``user`` (your folder, pass ``data_root``), ``paper`` (the papers' datasets; fetched by
``data_scripts/<script>.py``, never downloaded here).

Presence is the loader's own check: :func:`layout_problems` lists what a folder lacks (the
files and image folders the dataset class reads), :func:`get_dataset` refuses a folder with
problems and ``ci-inpaint data list`` reports it as ``incomplete: <what is missing>`` next to
the command that fixes it, so a folder of junk is never "present".

Where a paper dataset lives: ``data_root`` if given (the folder its script's ``--root``
prepared), else ``$CI_INPAINT_DATA/<dir>`` (default ``~/.cache/ci_inpaint/data/<dir>``) where
``<dir>`` is the script's default (``pix2pix_facades``, ``places2_val`` ...) or the catalog
name. Layouts read (as ``ci_inpaint.data.download.SPECS`` prepares them) and splits:
- cifar10: ``cifar-10-batches-py/``; val = the test batch (no official val split).
- celeba: ``img_align_celeba/*.jpg`` + ``list_eval_partition.txt`` (official 0/1/2 split).
- celeba_hq: ``CelebAMask-HQ/CelebA-HQ-img/<i>.jpg`` split by CelebA's official partition of
  the source image (``CelebA-HQ-to-CelebA-mapping.txt``; 24,183 / 2,993 / 2,824).
- places2: train = ``data_256/**`` (places2_train), val and test = ``val_256/`` (places2_val;
  the labelled val set is what SCAT evaluates on). ``file_list=`` restricts to a list file.
- paris_streetview: train = ``paris_train_original/``, val and test = ``paris_eval_gt/``.
- facades, maps: ``<name>/{train,val,test}/`` side-by-side A|B (pix2pix; maps: test = val).
- horse2zebra: ``horse2zebra/{train,test}{A,B}/`` (CycleGAN; val = test).
- nvidia_masks: ``mask/testing_mask_dataset/*.png`` read by ``masks.MaskFolder`` (same set
  for every split; items are masks, 1 = hole).

Conventions (whole repository): images float32 (C, H, W) in [-1, 1], ``__getitem__`` a pure
function of the index (of ``(seed, epoch, index)`` for epoch-aware sets: random crops, flips,
partners; see ``ci_inpaint.data.epochs``), items are dicts with ``"image"`` (+ ``"label"`` int64); masks 1 = hole.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, DataError
from . import bundled, folders, synthetic
from .download import script_command

SPLIT_SEED = {"train": 0, "val": 1, "test": 2}  # synthetic sets: disjoint streams per split
SYNTHETIC_N = {"train": 10_000, "val": 1_000, "test": 1_000}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str  # bundled | synthetic | user | paper
    factory: Callable  # (split, size, root, **kw) -> Dataset
    description: str
    script: str | None = None  # data_scripts/<script>.py for paper datasets
    dirs: dict = field(default_factory=dict)  # split ("*" = any) -> folder names under data_home
    args: dict = field(default_factory=dict)  # split ("*" = any) -> extra script arguments
    check: Callable | None = None  # (root, split, kw) -> what the loader misses (paper sets)

    def folders_for(self, split: str) -> tuple[str, ...]:
        return tuple(self.dirs.get(split, self.dirs.get("*", ()))) + (self.name,)

    def script_args(self, split: str) -> str:
        return self.args.get(split, self.args.get("*", ""))


def data_home() -> Path:
    """``$CI_INPAINT_DATA`` or ``~/.cache/ci_inpaint/data``."""
    return Path(os.environ.get("CI_INPAINT_DATA", "~/.cache/ci_inpaint/data")).expanduser()


def _synthetic(kind: str):
    def make(split, size, root, seed=0, n=None, **kw):
        bundled._check_split(split)
        n = SYNTHETIC_N[split] if n is None else n
        return synthetic.FactorShapes(n, size=size, seed=3 * seed + SPLIT_SEED[split],
                                      kind=kind, **kw)
    return make


def _need_root(name: str, root):
    if root is None:
        raise ConfigError(f"dataset {name!r} reads your own images: pass data_root=DIR")
    return Path(root).expanduser()


def _split_folder(split, size, root, **kw):
    """``<root>/<split>/`` if it exists, else ``<root>`` itself (one folder = every split)."""
    root = Path(root)
    return folders.ImageFolder(root / split if (root / split).is_dir() else root, size, **kw)


def _has_image(d: Path, recursive: bool = True, exts=folders.IMAGE_EXTENSIONS) -> bool:
    """Whether ``d`` holds at least one image file (stops at the first)."""
    if not d.is_dir():
        return False
    walk = d.rglob("*") if recursive else d.iterdir()
    return any(p.suffix.lower() in exts and p.is_file() for p in walk)


def _lacking(root: Path, files=(), image_dirs=(), recursive: bool = True) -> list[str]:
    """``files`` that are not files and ``image_dirs`` without an image, relative to root."""
    out = [f for f in files if not (root / f).is_file()]
    return out + [f"{d}/ with images" for d in image_dirs
                  if not _has_image(root / d, recursive)]


def _inside(root: Path, sub: str) -> Path:
    """``root/sub`` when the archive's top folder is there (the scripts' layout), else root."""
    return root / sub if (root / sub).is_dir() else root


def _listed(root: Path, size: int, kw: dict) -> folders.ImageFolder | None:
    """An ImageFolder over ``file_list=PATH`` (one path per line, relative to root), if given."""
    listing = kw.pop("file_list", None)
    if listing is None:
        return None
    lines = [ln.strip() for ln in Path(listing).expanduser().read_text().splitlines()]
    return folders.ImageFolder(root, size, files=[ln for ln in lines if ln], **kw)


def _celeba_check(root, split, kw):
    return _lacking(root, ["list_eval_partition.txt"], ["img_align_celeba"], recursive=False)


def _celeba(split, size, root, **kw):
    part = root / "list_eval_partition.txt"
    code = {"train": "0", "val": "1", "test": "2"}[split]
    rows = (ln.split() for ln in part.read_text().splitlines())
    files = [f"img_align_celeba/{r[0]}" for r in rows if len(r) == 2 and r[1] == code]
    return folders.ImageFolder(root, size, files=files, **kw)


# CelebA's official partition by 0-based source index: train < 162770 <= val < 182637 <= test
_CELEBA_BOUNDS = {"train": (0, 162_770), "val": (162_770, 182_637), "test": (182_637, 1 << 62)}


def _celeba_hq_check(root, split, kw):
    base = _inside(root, "CelebAMask-HQ")
    prefix = "CelebAMask-HQ/" if base != root else ""
    return [prefix + m for m in _lacking(base, ["CelebA-HQ-to-CelebA-mapping.txt"],
                                         ["CelebA-HQ-img"], recursive=False)]


def _celeba_hq(split, size, root, **kw):
    base = _inside(root, "CelebAMask-HQ")
    mapping = base / "CelebA-HQ-to-CelebA-mapping.txt"
    lo, hi = _CELEBA_BOUNDS[split]
    rows = [ln.split() for ln in mapping.read_text().splitlines()[1:]]  # idx orig_idx orig_file
    files = [f"CelebA-HQ-img/{r[0]}.jpg" for r in rows if len(r) >= 2 and lo <= int(r[1]) < hi]
    return folders.ImageFolder(base, size, files=files, **kw)


def _places2_sub(split: str) -> str:
    return "data_256" if split == "train" else "val_256"


def _places2_check(root, split, kw):
    if kw.get("file_list") is not None:
        return []  # the list names the files; ImageFolder checks the list itself
    return _lacking(root, image_dirs=[_places2_sub(split)])


def _places2(split, size, root, **kw):
    listed = _listed(root, size, kw)
    if listed is not None:
        return listed
    return folders.ImageFolder(root / _places2_sub(split), size, **kw)


def _paris_sub(split: str) -> str:
    return "paris_train_original" if split == "train" else "paris_eval_gt"


def _paris_check(root, split, kw):
    return _lacking(root, image_dirs=[_paris_sub(split)])


def _paris(split, size, root, **kw):
    return folders.ImageFolder(root / _paris_sub(split), size, **kw)


def _cifar_check(root, split, kw):
    return folders.cifar10_missing(root, split)


def _cifar(split, size, root, **kw):
    return folders.CIFAR10(root, split, size=size, **kw)


def _paired(split, size, root, **kw):
    return folders.PairedFolder(root, size, split=split, **kw)


def _pix2pix_split(base: Path, split: str) -> str:
    # maps has train/ and val/ only; pix2pix tests on val
    return "val" if split == "test" and not (base / "test").is_dir() else split


def _pix2pix_check(name: str):
    def check(root, split, kw):
        base = _inside(root, name)
        s = _pix2pix_split(base, split)
        if _has_image(base / s) or not _lacking(base, image_dirs=[s + "A", s + "B"]):
            return []
        prefix = f"{name}/" if base != root else ""
        return [f"{prefix}{s}/ with side-by-side A|B images (or {prefix}{s}A/ + {prefix}{s}B/)"]
    return check


def _pix2pix(name: str):
    def make(split, size, root, **kw):
        base = _inside(root, name)
        return folders.PairedFolder(base, size, split=_pix2pix_split(base, split), **kw)
    return make


def _cityscapes(split, size, root, seed=0, **kw):
    # pix2pix's side-by-side files are photo|label: A = the label colours (right half, the
    # PairedFolder's "B"), B = the photos, read unpaired as CUT trains labels -> photo
    base = _inside(root, "cityscapes")
    paired = folders.PairedFolder(base, size, split=_pix2pix_split(base, split), seed=seed, **kw)
    return folders.UnpairedView(paired, a_key="B", b_key="A", seed=seed)


def _unpaired(split, size, root, **kw):
    return folders.UnpairedFolder(root, split=split, size=size, **kw)


def _horse2zebra_check(root, split, kw):
    base = _inside(root, "horse2zebra")
    s = "train" if split == "train" else "test"
    prefix = "horse2zebra/" if base != root else ""
    return [prefix + m for m in _lacking(base, image_dirs=[s + "A", s + "B"])]


def _horse2zebra(split, size, root, **kw):
    base = _inside(root, "horse2zebra")
    return folders.UnpairedFolder(base, split="train" if split == "train" else "test",
                                  size=size, **kw)


_MASK_SUB = os.path.join("mask", "testing_mask_dataset")


def _masks_check(root, split, kw):
    base = _inside(root, _MASK_SUB)
    # MaskFolder reads .png/.jpg/.jpeg/.bmp anywhere below its root
    if _has_image(base, exts=(".png", ".jpg", ".jpeg", ".bmp")):
        return []
    return ["mask/testing_mask_dataset/ with mask images"]


def _masks(split, size, root, **kw):
    from .masks import MaskFolder  # written separately; imported only when asked for

    return MaskFolder(_inside(root, _MASK_SUB), size, **kw)


_ENTRIES = [
    DatasetInfo("photo_patches", "bundled",
                lambda split, size, root, **kw: bundled.PhotoPatches(split, size, **kw),
                "patches of 10 colour photos in scikit-image/scikit-learn, split by photo"),
    DatasetInfo("digits", "bundled",
                lambda split, size, root, **kw: bundled.Digits(split, size, **kw),
                "scikit-learn 8x8 digits (1797, labels 0-9) upsampled, stratified split"),
    DatasetInfo("lfw_faces", "bundled",
                lambda split, size, root, **kw: bundled.LFWFaces(split, size, **kw),
                "100 LFW faces from skimage.data.lfw_subset (25x25 grey), resized"),
    DatasetInfo("factor_shapes", "synthetic", _synthetic("shapes"),
                "8 shapes x colour/scale/angle/position factors on textured backgrounds"),
    DatasetInfo("factor_digits", "synthetic", _synthetic("digits"),
                "digit glyphs x colour/scale/angle/position factors on textured backgrounds"),
    DatasetInfo("image_folder", "user", _split_folder,
                "your images: data_root/<split>/ if present else data_root, any depth"),
    DatasetInfo("class_folder", "user",
                lambda split, size, root, **kw: folders.ClassFolder(
                    root / split if (root / split).is_dir() else root, size, **kw),
                "your images, one sub-folder per class (labels = sorted folder names)"),
    DatasetInfo("paired_folder", "user", _paired,
                "your pix2pix-style pairs: <split>/ side by side A|B, or <split>A/ + <split>B/"),
    DatasetInfo("unpaired_folder", "user", _unpaired,
                "your CycleGAN/CUT domains: <split>A/ and <split>B/"),
    DatasetInfo("celeba_hq", "paper", _celeba_hq,
                "CelebA-HQ 30k faces, official CelebA split (ContrasFill, SCAT, DAF)", "celeba_hq",
                check=_celeba_hq_check),
    DatasetInfo("celeba", "paper", _celeba,
                "CelebA aligned faces, 202,599 at 178x218, official split (SCAT)", "celeba",
                check=_celeba_check),
    DatasetInfo("places2", "paper", _places2,
                "Places365-Standard scenes at 256 (SCAT, DAF inpainting)", "places2",
                dirs={"train": ("places2_train",), "*": ("places2_val",)},
                args={"train": " --split train", "*": " --split val"}, check=_places2_check),
    DatasetInfo("paris_streetview", "paper", _paris,
                "Paris StreetView, 14,900 train + 100 test (DAF inpainting)", "paris_streetview",
                check=_paris_check),
    DatasetInfo("cifar10", "paper", _cifar,
                "CIFAR-10, 60k 32x32 in 10 classes (DivCo class-conditional)", "cifar10",
                check=_cifar_check),
    DatasetInfo("facades", "paper", _pix2pix("facades"),
                "CMP facades photo|label pairs, pix2pix layout (DivCo, MoNCE; labels->photo is "
                "direction='BtoA')", "pix2pix", dirs={"*": ("pix2pix_facades",)},
                args={"*": " --name facades"}, check=_pix2pix_check("facades")),
    DatasetInfo("maps", "paper", _pix2pix("maps"),
                "aerial photo|map pairs, pix2pix layout (DivCo)", "pix2pix",
                dirs={"*": ("pix2pix_maps",)}, args={"*": " --name maps"},
                check=_pix2pix_check("maps")),
    DatasetInfo("cityscapes", "paper", _cityscapes,
                "Cityscapes label colours -> photos, unpaired from pix2pix's 2,975 + 500 pairs "
                "(MoNCE / CUT)", "pix2pix", dirs={"*": ("pix2pix_cityscapes",)},
                args={"*": " --name cityscapes"}, check=_pix2pix_check("cityscapes")),
    DatasetInfo("horse2zebra", "paper", _horse2zebra,
                "unpaired horses and zebras, CycleGAN layout (MoNCE / CUT)", "cyclegan",
                dirs={"*": ("cyclegan_horse2zebra",)}, check=_horse2zebra_check),
    DatasetInfo("nvidia_masks", "paper", _masks,
                "NVIDIA irregular hole masks (Liu et al. 2018), for SCAT; items are masks",
                "nvidia_masks", check=_masks_check),
]
DATASETS: dict[str, DatasetInfo] = {e.name: e for e in _ENTRIES}


def paper_root(name: str, split: str = "train") -> Path:
    """The first existing conventional folder of a paper dataset, else the script's default."""
    cands = [data_home() / d for d in DATASETS[name].folders_for(split)]
    return next((c for c in cands if c.is_dir() and any(c.iterdir())), cands[0])


def how_to_get(name: str, root: Path | None = None, split: str = "train") -> str:
    info = DATASETS[name]
    if info.kind == "bundled":
        return "ships with scikit-image / scikit-learn (nothing to fetch)"
    if info.kind == "synthetic":
        return "generated on the fly from a seed (nothing to fetch)"
    if info.kind == "user":
        return "pass data_root=DIR pointing at your images"
    root = paper_root(name, split) if root is None else root
    return f"{script_command(info.script, info.script_args(split))} --root {root}"


def layout_problems(name: str, root, split: str = "train", **kw) -> list[str]:
    """What the loader of paper dataset ``name`` misses in ``root`` for ``split`` (paths
    relative to root; empty = loadable). A missing root is one problem: the root itself."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return [f"{root}/"]
    check = DATASETS[name].check
    return check(root, split, kw) if check is not None else []


def presence(name: str, root: str | os.PathLike | None = None, split: str = "train"
             ) -> bool | str | None:
    """True (ready), False (no folder), ``"incomplete: <what is missing>"`` (a folder the
    loader cannot read), or None (user data: no fixed place)."""
    kind = DATASETS[name].kind
    if kind in ("bundled", "synthetic"):
        return True
    if kind == "user":
        return None
    d = Path(root).expanduser() if root is not None else paper_root(name, split)
    if not d.is_dir():
        return False
    problems = layout_problems(name, d, split)
    return f"incomplete: missing {', '.join(problems)} in {d}" if problems else True


def is_present(name: str, root: str | os.PathLike | None = None, split: str = "train"
               ) -> bool | None:
    """Whether the data is here and loadable: True for bundled/synthetic, None for user sets
    (no fixed place), and for paper sets whether the loader's layout check passes."""
    p = presence(name, root, split)
    return p if p is None or isinstance(p, bool) else False


def get_dataset(name: str, split: str = "train", size: int = 64, data_root=None, **kw):
    """Build dataset ``name`` for ``split`` at ``size``; extra keywords go to its class."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}: known datasets are "
                          f"{', '.join(sorted(DATASETS))}")
    info = DATASETS[name]
    if info.kind == "user":
        root = _need_root(name, data_root)
    elif info.kind == "paper":
        bundled._check_split(split)
        root = (Path(data_root).expanduser() if data_root is not None
                else paper_root(name, split))
        if not root.is_dir():
            raise DataError(f"dataset {name} not found at {root}: run "
                            f"{how_to_get(name, root, split)} or pass data_root=DIR")
        problems = layout_problems(name, root, split, **kw)
        if problems:
            raise DataError(f"dataset {name} in {root} is incomplete: missing "
                            f"{', '.join(problems)}: run {how_to_get(name, root, split)} "
                            "or pass data_root=DIR")
    else:
        root = None
    return info.factory(split, size, root, **kw)


def dataset_table() -> list[dict]:
    """One row per dataset: name, kind, present (True / False / ``"incomplete: ..."``; None =
    user data), how to get (the command that fetches or completes it)."""
    return [{"name": n, "kind": d.kind, "present": presence(n), "how_to_get": how_to_get(n),
             "description": d.description} for n, d in DATASETS.items()]


def format_table(rows: list[dict]) -> str:
    """Markdown table of ``dataset_table()`` rows (for notebooks and ``ci-inpaint data``)."""
    cols = list(rows[0])
    show = {True: "yes", False: "no", None: "-"}
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(show.get(r[c], r[c]) if isinstance(r[c], bool | None)
                                       else str(r[c]) for c in cols) + " |")
    return "\n".join(lines)
