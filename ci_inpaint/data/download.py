"""Download, verify and prepare the real datasets: checksummed, resumable, layout-checked.

One registry, :data:`SPECS`, describes every dataset (files, URLs, checksums, licence, the
layout a prepared folder must have); ``data_scripts/*.py`` are thin CLIs over
:func:`script_main`, and ``ci_inpaint.data.catalog`` checks presence with :func:`is_prepared`.

:func:`prepare` is idempotent: a prepared folder holds a ``.complete`` stamp (JSON with the
files' hashes); when the stamp matches the spec and the layout check passes, a rerun does no
work. Otherwise missing files are downloaded (resumable: bytes go to ``<file>.part`` and HTTP
``Range`` requests continue it; the final name appears only after the checksum passed),
verified, extracted (refusing members that would land outside the folder), checked, stamped.

Checksums are written ``"md5:<hex>"`` or ``"sha256:<hex>"``. Where no checksum is published,
the spec says ``None``: the first download records the file's sha256 in the stamp and prints
it (never invent one). Datasets whose licence or host forbids scripted download are
``manual``: the script prints what to fetch and where to put it, then verifies what is there.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import itertools
import json
import os
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError

STAMP = ".complete"
CHUNK = 1 << 20
#: The repository's interpreter (``make venv``): a bare ``python`` outside the venv lacks torch.
VENV_PYTHON = ".venv/bin/python"


def script_command(script: str, args: str = "") -> str:
    """The command (run from the repository root) that runs ``data_scripts/<script>``."""
    name = script if script.endswith(".py") else f"{script}.py"
    return f"{VENV_PYTHON} data_scripts/{name}{args}"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset. ``url=None``: only obtainable by hand (see the spec's
    instructions). ``hash``: ``"md5:..."``/``"sha256:..."`` or None (not published: recorded
    on first download). ``size`` in bytes, informative only. ``archive``: "zip", "tar",
    "tar.gz", "tar.bz2", None (plain file) or "auto" (from the file name)."""

    url: str | None
    filename: str
    hash: str | None = None
    size: int | None = None
    archive: str | None = "auto"

    @property
    def archive_type(self) -> str | None:
        return archive_type(self.filename) if self.archive == "auto" else self.archive


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its files, the layout a prepared root must show (``(glob, min_count)``
    pairs relative to the root), its licence, and for ``manual`` ones what to do by hand."""

    name: str
    files: tuple[RemoteFile, ...]
    layout: tuple[tuple[str, int], ...]
    licence: str
    homepage: str = ""
    description: str = ""
    manual: bool = False
    instructions: str = ""
    script: str = ""
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- low level
def archive_type(filename: str) -> str | None:
    name = filename.lower()
    for suffix, kind in ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar.bz2", "tar.bz2"),
                         (".tar", "tar"), (".zip", "zip")):
        if name.endswith(suffix):
            return kind
    return None


def _parse_hash(expected: str) -> tuple[str, str]:
    algo, _, hexd = expected.rpartition(":")
    if not algo:
        algo = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(hexd), "")
    if algo not in ("md5", "sha1", "sha256"):
        raise DataError(f"checksum {expected!r} is not 'md5:<hex>' or 'sha256:<hex>': "
                        "fix the spec in ci_inpaint/data/download.py")
    return algo, hexd.lower()


def hash_file(path, algo: str = "sha256") -> str:
    """Streaming digest of a file, returned as ``"<algo>:<hex>"``."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return f"{algo}:{h.hexdigest()}"


class ChecksumError(DataError):
    """A file's digest differs from the expected one."""

    def __init__(self, path, expected: str, actual: str, note: str = ""):
        self.path, self.expected, self.actual = Path(path), expected, actual
        super().__init__(f"checksum mismatch for {self.path.name}: expected {expected}, got "
                         f"{actual}{note}: delete it and rerun to download it again (if the "
                         "source changed on purpose, update the hash in ci_inpaint/data/download.py)")


def verify(path, expected: str | None = None) -> str:
    """Hash ``path`` (with the algorithm of ``expected``, else sha256) and return the digest as
    ``"<algo>:<hex>"``; raise :class:`ChecksumError` when it differs from ``expected`` (which may
    give only the leading hex digits, as ``"sha256:7be5be79"``)."""
    algo, hexd = _parse_hash(expected) if expected else ("sha256", None)
    actual = hash_file(path, algo)
    # a shorter hex is a prefix of the digest (torchvision's file names carry the first 8+ digits)
    if hexd is not None and not actual.split(":", 1)[1].startswith(hexd):
        raise ChecksumError(path, f"{algo}:{hexd}", actual)
    return actual


def _quarantine(path: Path, err: ChecksumError) -> ChecksumError:
    """Move a file that failed its checksum to ``<name>.bad`` so no bad file keeps a good name."""
    bad = path.with_name(path.name.removesuffix(".part") + ".bad")
    os.replace(path, bad)
    return ChecksumError(bad, err.expected, err.actual, f" (kept as {bad})")


def _retry_advice(part: Path) -> str:
    """How to go on after a failed download, mentioning the ``.part`` only if bytes are kept."""
    size = part.stat().st_size if part.is_file() else 0
    if size:
        return (f"check your connection and rerun: it resumes from the {size} bytes kept in "
                f"{part}")
    part.unlink(missing_ok=True)  # an empty .part holds nothing worth mentioning
    return "check your connection and rerun"


def download(url: str, dest, expected_hash: str | None = None, progress: bool = True, *,
             timeout: float = 60.0, size: int | None = None) -> str:
    """Fetch ``url`` to ``dest`` and return its digest (see :func:`verify`).

    Bytes go to ``dest.part``; an existing ``.part`` is continued with an HTTP ``Range``
    request (a server or ``file://`` URL that ignores the range is read past the bytes we have).
    A short read keeps the ``.part`` (if it holds any bytes) and raises (rerun to resume). After a checksum mismatch the
    file is moved to ``dest.bad``; only a verified file is renamed (atomically) to ``dest``.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "ci_inpaint-data/1"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    total = None
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:
            raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}: check the URL "
                            f"or fetch the file by hand to {dest}") from e
        resp = None  # 416: nothing after our offset, the .part is already whole
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise DataError(f"cannot reach {url} ({e}): {_retry_advice(part)}") from e
    if resp is not None:
        with resp:
            status = getattr(resp, "status", None)
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            resumed = status == 206
            # The server's length decides completeness; the spec's size only sizes the bar.
            total = (offset + length if resumed else length) if length is not None else None
            try:
                if offset and not resumed:  # range ignored: skip what we already have
                    skip = offset
                    while skip:
                        got = len(resp.read(min(CHUNK, skip)))
                        if not got:
                            break
                        skip -= got
                with open(part, "ab") as f, tqdm(total=total or size, initial=offset, unit="B",
                                                 unit_scale=True, desc=dest.name,
                                                 disable=not progress) as bar:
                    for block in iter(lambda: resp.read(CHUNK), b""):
                        f.write(block)
                        bar.update(len(block))
            except (OSError, EOFError, http.client.HTTPException) as e:  # timeouts, resets
                raise DataError(f"download of {url} interrupted ({e}): "
                                f"{_retry_advice(part)}") from e
    got = part.stat().st_size if part.exists() else 0
    if total is not None and got < total:
        raise DataError(f"download of {url} stopped at {got} of {total} bytes: "
                        f"{_retry_advice(part)}")
    try:
        actual = verify(part, expected_hash)
    except ChecksumError as e:
        raise _quarantine(part, e) from None
    os.replace(part, dest)
    return actual


def _check_member(root: Path, name: str, archive: Path) -> None:
    target = (root / name).resolve()
    if os.path.isabs(name) or not target.is_relative_to(root):
        raise DataError(f"archive {archive} has a member {name!r} that would be written outside "
                        f"{root}: refusing to extract (corrupt or malicious archive); delete it "
                        "and download it again from the official source")


def extract(archive, dest, kind: str | None = None) -> None:
    """Extract a zip / tar / tar.gz / tgz / tar.bz2 into ``dest``.

    Every member is checked first: absolute paths, ``..`` escapes, links pointing outside
    ``dest`` and device files are refused (:class:`DataError`). A truncated or corrupt archive
    raises :class:`DataError` naming the file and the fix.
    """
    archive, dest = Path(archive), Path(dest)
    kind = kind or archive_type(archive.name)
    if kind is None:
        raise DataError(f"{archive} is not a zip/tar archive: extract it by hand into {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    _check_member(root, name, archive)
                zf.extractall(root)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for m in members:
                    _check_member(root, m.name, archive)
                    if m.issym():
                        _check_member(root, os.path.join(os.path.dirname(m.name), m.linkname),
                                      archive)
                    elif m.islnk():
                        _check_member(root, m.linkname, archive)
                    elif not (m.isfile() or m.isdir()):
                        raise DataError(f"archive {archive} has a special member {m.name!r}: "
                                        "refusing to extract; download it again")
                kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tf.extractall(root, members, **kw)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error,
            gzip.BadGzipFile) as e:
        raise DataError(f"archive {archive} is truncated or corrupt ({e}): delete it and rerun "
                        "to download it again") from e


def check_layout(root, spec: DatasetSpec) -> list[str]:
    """Problems with the prepared folder: one line per layout rule that is not met."""
    root = Path(root)
    problems = []
    for pattern, n in spec.layout:
        found = sum(1 for _ in itertools.islice(root.glob(pattern), n))
        if found < n:
            problems.append(f"{root / pattern}: expected at least {n}, found {found}")
    return problems


# ----------------------------------------------------------------------------- prepare
def default_root(name: str) -> Path:
    """``$CI_INPAINT_DATA/<name>``, else ``~/.cache/ci_inpaint/data/<name>``."""
    base = os.environ.get("CI_INPAINT_DATA")
    return (Path(base) if base else Path.home() / ".cache" / "ci_inpaint" / "data") / name


def read_stamp(root) -> dict | None:
    try:
        return json.loads((Path(root) / STAMP).read_text())
    except (OSError, ValueError):
        return None


def _stamp_matches(spec: DatasetSpec, stamp: dict) -> bool:
    files = stamp.get("files", {})
    for f in spec.files:
        if f.hash is not None and f.filename in files:
            if files[f.filename] != "{}:{}".format(*_parse_hash(f.hash)):
                return False
    return stamp.get("dataset") == spec.name


def is_prepared(spec: DatasetSpec, root=None) -> bool:
    """True when ``root`` (default :func:`default_root`) holds a matching stamp and layout."""
    root = Path(root) if root is not None else default_root(spec.name)
    stamp = read_stamp(root)
    return stamp is not None and _stamp_matches(spec, stamp) and not check_layout(root, spec)


def manual_instructions(spec: DatasetSpec, root) -> str:
    """What to fetch by hand, and where it must lie, for a ``manual`` dataset."""
    lines = [f"{spec.name} cannot be downloaded by script ({spec.licence}).",
             f"Get it from {spec.homepage}" if spec.homepage else "", spec.instructions.strip()]
    if spec.files:
        lines.append(f"Put these files in {root}:")
        lines += [f"  {f.filename}" + (f"  ({f.hash})" if f.hash else "") for f in spec.files]
        lines.append(f"(or their extracted contents) so that {root} holds:")
    else:
        lines.append(f"Unpack it so that {root} holds:")
    lines += [f"  {pattern}  (at least {n})" for pattern, n in spec.layout]
    lines.append("then run this script again to verify and stamp the folder.")
    return "\n".join(x for x in lines if x)


def prepare(spec: DatasetSpec, root=None, *, force: bool = False, progress: bool = True,
            keep_archives: bool = True, log: Callable[[str], None] = print) -> dict:
    """Make ``root`` hold ``spec`` ready to use and return its stamp (see the module doc)."""
    root = Path(root).expanduser() if root is not None else default_root(spec.name)
    stamp = read_stamp(root)
    if not force and stamp is not None and _stamp_matches(spec, stamp) \
            and not check_layout(root, spec):
        log(f"{spec.name}: already prepared in {root} (stamp {root / STAMP}); nothing to do")
        return stamp
    root.mkdir(parents=True, exist_ok=True)
    if spec.manual:
        log(manual_instructions(spec, root))
    layout_ok = not check_layout(root, spec)
    hashes, missing, unpublished = {}, [], []
    for f in spec.files:
        dest = root / f.filename
        if dest.is_file():
            try:
                hashes[f.filename] = verify(dest, f.hash)
            except ChecksumError as e:
                raise _quarantine(dest, e) from None
        elif spec.manual or f.url is None or layout_ok:
            if not layout_ok:
                missing.append(f.filename)
            continue  # (files already extracted by hand need no archive)
        else:
            log(f"{spec.name}: downloading {f.url} -> {dest}")
            hashes[f.filename] = download(f.url, dest, f.hash, progress, size=f.size)
        if f.hash is None:
            unpublished.append(f.filename)
    if missing and not layout_ok:
        hint = f"run {script_command(spec.script, ' --help')}" if spec.script else "see the spec"
        raise DataError(f"{spec.name}: {', '.join(missing)} not found in {root}: download them "
                        f"by hand as instructed ({hint}) and rerun")
    if not layout_ok:
        for f in spec.files:
            if f.filename in hashes and f.archive_type:
                log(f"{spec.name}: extracting {f.filename}")
                extract(root / f.filename, root, f.archive_type)
                if not keep_archives:
                    (root / f.filename).unlink()
    problems = check_layout(root, spec)
    if problems:
        raise DataError(f"{spec.name} in {root} lacks the expected layout: {'; '.join(problems)}"
                        f": delete {root} and rerun, or arrange the files as the script's --help"
                        " describes")
    stamp = {"dataset": spec.name, "files": hashes, "layout": [list(r) for r in spec.layout],
             "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = root / (STAMP + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=1))
    os.replace(tmp, root / STAMP)
    for name in unpublished:  # said only now that the stamp holding it exists
        log(f"{spec.name}: no published checksum for {name}; recorded {hashes[name]} in "
            f"{root / STAMP}")
    log(f"{spec.name}: ready in {root}")
    return stamp


def write_subset_list(root, pattern: str, n: int, seed: int = 0, out=None) -> Path:
    """Write a deterministic list of ``n`` files matching ``pattern`` under ``root``.

    Files are ranked by sha256("<seed>:<relative path>"), so the subset depends only on the
    seed and the file names (not on numpy versions or listing order); the list is sorted.
    """
    root = Path(root)
    rel = [p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file()]
    if n > len(rel):
        raise DataError(f"--subset {n} asks for more files than the {len(rel)} matching "
                        f"{root / pattern}: use a smaller N or prepare the full split first")
    ranked = sorted(rel, key=lambda r: hashlib.sha256(f"{seed}:{r}".encode()).hexdigest())
    out = Path(out) if out is not None else root / f"subset_{n}_seed{seed}.txt"
    out.write_text("".join(f"{r}\n" for r in sorted(ranked[:n])))
    return out


# ----------------------------------------------------------------------------- the registry
_PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
_CYCLEGAN = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
_PLACES = "http://data.csail.mit.edu/places/places365/"
_PLACES_FILELIST = RemoteFile(_PLACES + "filelist_places365-standard.tar",
                              "filelist_places365-standard.tar",
                              "md5:35a0585fee1fa656440f3ab298f8479c")
_PLACES_TERMS = (  # licence note and homepage, shared by both Places2 splits
    "Places365 terms of use (non-commercial research/education; images belong to their "
    "owners), see http://places2.csail.mit.edu/download.html; running the script accepts them",
    "http://places2.csail.mit.edu/download.html",
)
_EFROS_TERMS = ("research use; see the pix2pix/CycleGAN repositories for the sources' terms "
                "(https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix)")

SPECS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec(
        "cifar10",
        (RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    "cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a",
                    170498071),),
        (("cifar-10-batches-py/data_batch_[1-5]", 5), ("cifar-10-batches-py/test_batch", 1),
         ("cifar-10-batches-py/batches.meta", 1)),
        "free to use for research; cite Krizhevsky 2009",
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        "CIFAR-10, 60k 32x32 images in 10 classes (DivCo's class-conditional DCGAN setting)",
        script="cifar10.py"),
    DatasetSpec(
        "celeba",
        (RemoteFile(None, "img_align_celeba.zip", "md5:00d2c5bc6d35e252742224ab0c1e8fcb"),
         RemoteFile(None, "list_eval_partition.txt", "md5:d32c9cbf5e040fd4025c592c306e6668"),
         RemoteFile(None, "list_attr_celeba.txt", "md5:75e246fa4810816ffd6ee81facbd244c")),
        (("img_align_celeba/*.jpg", 202599), ("list_eval_partition.txt", 1)),
        "non-commercial research and educational use only, by agreement on the CelebA page; "
        "hosted on Google Drive/Baidu, which block scripted bulk download",
        "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        "CelebA aligned faces, 202,599 images with the official train/val/test partition "
        "(SCAT's CelebA experiments)",
        manual=True,
        instructions="From the 'Align&Cropped Images' folder of the CelebA Google Drive, download "
                     "Img/img_align_celeba.zip and Eval/list_eval_partition.txt and "
                     "Anno/list_attr_celeba.txt (checksums as torchvision's CelebA records them).",
        script="celeba.py"),
    DatasetSpec(
        "celeba_hq",
        (RemoteFile(None, "CelebAMask-HQ.zip"),),
        (("CelebAMask-HQ/CelebA-HQ-img/*.jpg", 30000),
         ("CelebAMask-HQ/CelebA-HQ-to-CelebA-mapping.txt", 1),
         ("CelebAMask-HQ/CelebAMask-HQ-mask-anno/*/*.png", 30000)),
        "non-commercial research and educational use only (CelebAMask-HQ agreement, as CelebA); "
        "hosted on Google Drive/Baidu, which block scripted bulk download",
        "https://github.com/switchablenorms/CelebAMask-HQ",
        "CelebA-HQ 30,000 faces with CelebAMask-HQ part segmentations (ContrasFill's face data; "
        "the mapping file gives the official CelebA split)",
        manual=True,
        instructions="Download CelebAMask-HQ.zip via the links in that repository's README. No "
                     "checksum is published: the first verified run records its sha256.",
        script="celeba_hq.py"),
    DatasetSpec(
        "places2_val",
        (RemoteFile(_PLACES + "val_256.tar", "val_256.tar", "md5:e27b17d8d44f4af9a78502beb927f808"),
         _PLACES_FILELIST),
        (("val_256/*.jpg", 36500), ("places365_val.txt", 1)),
        *_PLACES_TERMS,
        "Places365-Standard validation set, 36,500 images at 256x256 (SCAT evaluates on 5k of it)",
        script="places2.py"),
    DatasetSpec(
        "places2_train",
        (RemoteFile(_PLACES + "train_256_places365standard.tar",
                    "train_256_places365standard.tar", "md5:53ca1c756c3d1e7809517cc47c5561c5"),
         _PLACES_FILELIST),
        (("data_256/**/*.jpg", 1803460), ("places365_train_standard.txt", 1)),
        *_PLACES_TERMS,
        "Places365-Standard training set, 1,803,460 images at 256x256 (about 24 GB)",
        script="places2.py"),
    DatasetSpec(
        "pix2pix_facades",
        (RemoteFile(_PIX2PIX + "facades.tar.gz", "facades.tar.gz"),),
        (("facades/train/*.jpg", 400), ("facades/val/*.jpg", 100), ("facades/test/*.jpg", 106)),
        "CMP Facade Database (Tylecek & Sara 2013), " + _EFROS_TERMS,
        "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
        "pix2pix facades: 606 label|photo pairs side by side, 256x512", script="pix2pix.py"),
    DatasetSpec(
        "pix2pix_maps",
        (RemoteFile(_PIX2PIX + "maps.tar.gz", "maps.tar.gz"),),
        (("maps/train/*.jpg", 1096), ("maps/val/*.jpg", 1098)),
        "Google Maps imagery scraped by the pix2pix authors, " + _EFROS_TERMS,
        "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
        "pix2pix maps: aerial photo|map pairs side by side, 600x1200", script="pix2pix.py"),
    DatasetSpec(
        "pix2pix_cityscapes",
        (RemoteFile(_PIX2PIX + "cityscapes.tar.gz", "cityscapes.tar.gz"),),
        (("cityscapes/train/*.jpg", 2975), ("cityscapes/val/*.jpg", 500)),
        "Cityscapes terms of use (Cordts et al. 2016: non-commercial research, see "
        "https://www.cityscapes-dataset.com/license/), " + _EFROS_TERMS,
        "https://www.cityscapes-dataset.com",
        "pix2pix Cityscapes: 2,975 train + 500 val photo|label-colour pairs side by side, "
        "256x512 (CUT / MoNCE's labels -> photo task, read unpaired)", script="pix2pix.py"),
    DatasetSpec(
        "cyclegan_horse2zebra",
        (RemoteFile(_CYCLEGAN + "horse2zebra.zip", "horse2zebra.zip"),),
        (("horse2zebra/trainA/*.jpg", 1067), ("horse2zebra/trainB/*.jpg", 1334),
         ("horse2zebra/testA/*.jpg", 120), ("horse2zebra/testB/*.jpg", 140)),
        "ImageNet images (ImageNet terms of access), " + _EFROS_TERMS,
        "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
        "CycleGAN horse2zebra, unpaired 256x256 (MoNCE/CUT's unpaired benchmark)",
        script="cyclegan.py"),
    DatasetSpec(
        "paris_streetview",
        (),  # folders, not archives: only the layout is checked
        (("paris_train_original/*", 14900), ("paris_eval_gt/*", 100)),
        "Google Street View imagery; distributed by the Context Encoders authors on request "
        "only, not redistributable",
        "https://github.com/pathak22/context-encoder",
        "Paris StreetView: 14,900 training and 100 test images",
        manual=True,
        instructions="E-mail the Context Encoders authors (Pathak et al. 2016; see the "
                     "homepage's README, section 'Paris StreetView Dataset') to request it. "
                     "Unpack it so that the two folders below sit directly in the root.",
        script="paris_streetview.py"),
    DatasetSpec(
        "nvidia_masks",
        (RemoteFile("https://www.dropbox.com/s/01dfayns9s0kevy/test_mask.zip?dl=1",
                    "test_mask.zip"),),
        (("mask/testing_mask_dataset/*.png", 12000),),
        "released by NVIDIA with Liu et al. 2018 (partial convolutions); terms on "
        "https://nv-adlr.github.io/publication/partialconv-inpainting",
        "https://nv-adlr.github.io/publication/partialconv-inpainting",
        "NVIDIA irregular mask test set: 12,000 512x512 PNGs, white = hole, six hole-ratio bins "
        "of 10 % (2,000 each; half touch the border). Load with "
        "ci_inpaint.data.masks.MaskFolder(root / 'mask/testing_mask_dataset').",
        script="nvidia_masks.py"),
)}


# ----------------------------------------------------------------------------- CLI
def describe(spec: DatasetSpec) -> str:
    """Text for ``--help``: files, URLs, checksums, licence, layout."""
    lines = [f"{spec.name}: {spec.description}", f"  licence: {spec.licence}"]
    if spec.homepage:
        lines.append(f"  homepage: {spec.homepage}")
    if spec.manual:
        lines.append("  MANUAL download (the script prints instructions, then verifies):")
        lines.append(f"    {spec.instructions}")
    for f in spec.files:
        where = f.url or "(by hand)"
        digest = f.hash or "no published checksum: sha256 recorded on first download"
        size = f", {f.size / 2**20:.0f} MiB" if f.size else ""
        lines.append(f"  {f.filename}: {where}  [{digest}{size}]")
    lines.append("  layout: " + ", ".join(f"{p} (>= {n})" for p, n in spec.layout))
    lines.append(f"  default root: {default_root(spec.name)}")
    return "\n".join(lines)


def script_main(names: Sequence[str] | dict[str, str], doc: str, argv=None,
                add_args: Callable[[argparse.ArgumentParser], None] | None = None,
                after: Callable[[argparse.Namespace, DatasetSpec, Path], None] | None = None,
                choice_flag: str = "--name") -> int:
    """Shared CLI of ``data_scripts/*.py``: returns the exit code (1 with a one-line error).

    ``names`` is one spec name in a list, or a dict {CLI value: spec name} from which the user
    picks with ``choice_flag`` (default: the first). ``add_args``/``after`` let a script add
    options and a post-step run on the prepared root.
    """
    choices = names if isinstance(names, dict) else {n: n for n in names}
    specs = [SPECS[n] for n in choices.values()]
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="datasets:\n" + "\n".join(describe(s) for s in specs)
        + "\n\nThe root defaults to $CI_INPAINT_DATA/<dataset> or ~/.cache/ci_inpaint/data/"
          "<dataset>. A rerun on a prepared root does nothing.")
    if len(choices) > 1:
        parser.add_argument(choice_flag, dest="choice", choices=list(choices),
                            default=next(iter(choices)), help="which dataset (default: %(default)s)")
    parser.add_argument("--root", type=Path, default=None,
                        help="folder to prepare (default: see below)")
    parser.add_argument("--force", action="store_true",
                        help="ignore the .complete stamp and verify/extract again")
    parser.add_argument("--delete-archives", action="store_true",
                        help="delete archives after a successful extraction")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    if add_args:
        add_args(parser)
    args = parser.parse_args(argv)
    spec = SPECS[choices[args.choice]] if len(choices) > 1 else specs[0]
    root = args.root.expanduser() if args.root else default_root(spec.name)
    try:
        print(f"{spec.name}: {spec.licence}")
        prepare(spec, root, force=args.force, progress=not args.quiet,
                keep_archives=not args.delete_archives)
        if after:
            after(args, spec, root)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
