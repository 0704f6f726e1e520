"""Registry of pretrained files that torchvision, lpips and the FID tools look for.

Every file lies under ``$TORCH_HOME/hub/checkpoints/`` (``torch.hub.get_dir()``), where the
libraries find it with no network access. ``fetch`` downloads one for real (resumable ``.part``
file, atomic rename, hash check). Hashes: torchvision names carry the first hex digits of the
file's sha256 (``alexnet-owt-7be5be79.pth``: its sha256 starts with ``7be5be79``), which is what
``torch.hub`` itself checks; we check the same prefix. The inception files' suffix
``6726825d`` is not documented as a sha256 prefix (pytorch-fid and torch-fidelity load them
without a hash check), and no full sha256 is published, so they are downloaded unchecked
rather than against an invented hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ci_inpaint.data.download import ChecksumError, download
from ci_inpaint.data.download import verify as check_hash
from ci_inpaint.errors import ConfigError, DataError, WeightsMissingError

_TV = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    filename: str
    url: str
    sha256: str | None  # full digest, only where published
    hash_prefix: str | None  # leading hex digits of the sha256 (torchvision file names)
    used_by: str


REGISTRY: dict[str, WeightsEntry] = {
    e.name: e
    for e in [
        WeightsEntry("alexnet", "alexnet-owt-7be5be79.pth", _TV + "alexnet-owt-7be5be79.pth",
                     None, "7be5be79", "LPIPS-Alex diversity (metrics.lpips_diversity)"),
        WeightsEntry("vgg16", "vgg16-397923af.pth", _TV + "vgg16-397923af.pth",
                     None, "397923af", "perceptual/style losses (DAF pool1-3, losses.perceptual), LPIPS-VGG"),
        WeightsEntry("vgg19", "vgg19-dcbb9e9d.pth", _TV + "vgg19-dcbb9e9d.pth",
                     None, "dcbb9e9d", "MoNCE paired setting, SPADE-style perceptual loss (relu1_1..relu5_1, losses.perceptual)"),
        WeightsEntry("squeezenet1_1", "squeezenet1_1-b8a52dc0.pth",
                     _TV + "squeezenet1_1-b8a52dc0.pth", None, "b8a52dc0", "LPIPS-Squeeze"),
        WeightsEntry("inception_fid", "pt_inception-2015-12-05-6726825d.pth",
                     "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                     "pt_inception-2015-12-05-6726825d.pth",
                     None, None, "FID (metrics.fid, pytorch-fid Inception pool3)"),
        WeightsEntry("inception_fidelity", "weights-inception-2015-12-05-6726825d.pth",
                     "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                     "weights-inception-2015-12-05-6726825d.pth",
                     None, None, "torchmetrics / torch-fidelity FID"),
    ]
}


def _entry(name: str) -> WeightsEntry:
    if name in REGISTRY:
        return REGISTRY[name]
    for e in REGISTRY.values():
        if e.filename == name:
            return e
    raise ConfigError(f"unknown weights {name!r}: choose one of {', '.join(REGISTRY)}")


def checkpoints_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (read at call time, so TORCH_HOME can change)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(name: str) -> Path:
    return checkpoints_dir() / _entry(name).filename


def is_present(name: str) -> bool:
    p = weights_path(name)
    return p.is_file() and p.stat().st_size > 0


def require(name: str) -> Path:
    """Path of the file, or WeightsMissingError saying where it must lie and how to get it."""
    e, p = _entry(name), weights_path(name)
    if not is_present(name):
        raise WeightsMissingError(
            f"pretrained file {e.filename} is missing at {p}: run `ci-inpaint weights fetch "
            f"{e.name}` or download {e.url} and place it there")
    return p


def status_rows() -> list[dict]:
    rows = []
    for e in REGISTRY.values():
        p = weights_path(e.name)
        present = p.is_file() and p.stat().st_size > 0
        rows.append({
            "name": e.name, "file": e.filename, "present": present,
            "size_mb": round(p.stat().st_size / 2**20, 1) if present else None,
            "check": "sha256" if e.sha256 else (f"prefix {e.hash_prefix}" if e.hash_prefix
                                                else "none published"),
            "path": str(p), "url": e.url, "used_by": e.used_by,
        })
    return rows


def _expected(e: WeightsEntry) -> str | None:
    """The sha256 (or its leading digits) that ``data.download.verify`` checks."""
    return f"sha256:{e.sha256 or e.hash_prefix}" if (e.sha256 or e.hash_prefix) else None


def verify(name: str, path: Path | None = None) -> bool | None:
    """True/False against the known sha256 or prefix; None when nothing is published."""
    e = _entry(name)
    if _expected(e) is None:
        return None
    try:
        check_hash(path or weights_path(name), _expected(e))
    except ChecksumError:
        return False
    return True


def fetch(names: list[str] | None = None, force: bool = False, progress: bool = True) -> list[Path]:
    """Download the named files (all when ``names`` is empty) into ``checkpoints_dir()``.

    The shared downloader resumes ``<file>.part`` with an HTTP Range request and renames it to
    its final name only after the hash (or hash prefix) matched.
    """
    entries = [_entry(n) for n in names] if names else list(REGISTRY.values())
    out = []
    for e in entries:
        dest = weights_path(e.name)
        if dest.is_file() and not force:
            out.append(dest)
            continue
        part = dest.with_name(dest.name + ".part")
        if force and part.exists():
            part.unlink()
        try:
            download(e.url, dest, _expected(e), progress)
        except ChecksumError as err:
            err.path.unlink(missing_ok=True)  # the quarantined .bad copy: nothing half-good stays
            raise WeightsMissingError(
                f"downloaded {e.filename} does not match its expected hash ({_expected(e)}): the "
                f"file was deleted; run `ci-inpaint weights fetch {e.name}` again or download "
                f"{e.url} by hand to {dest}") from None
        except DataError as err:
            raise WeightsMissingError(
                f"could not download {e.url} ({err}): download it by hand and place it at "
                f"{dest}") from None
        out.append(dest)
    return out


def _table(rows: list[dict], cols: list[str]) -> str:
    cells = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    return "\n".join([line] + ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells])


def cli_status(args=None) -> int:
    """``ci-inpaint weights status``: one row per registered file."""
    print(f"checkpoints dir: {checkpoints_dir()}")
    print(_table(status_rows(), ["name", "file", "present", "size_mb", "check", "used_by"]))
    return 0


def cli_fetch(args) -> int:
    """``ci-inpaint weights fetch NAME... [--force]``; no names (or ``all``) fetches all."""
    names = [n for n in (getattr(args, "names", None) or []) if n != "all"]
    for p in fetch(names, force=bool(getattr(args, "force", False))):
        print(f"ok  {p}")
    return 0
