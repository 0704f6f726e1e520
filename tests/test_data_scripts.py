"""Download / verify / extract / prepare machinery, offline: fixture archives served from
tmp_path over file:// and over a local HTTP server that honours Range (the real resume path)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ci_inpaint.data import download as dl
from ci_inpaint.data.download import DatasetSpec, RemoteFile
from ci_inpaint.errors import DataError

REPO = Path(__file__).resolve().parents[1]
FILES = {"tiny/a/1.txt": b"one\n" * 500, "tiny/a/2.txt": b"two\n" * 700,
         "tiny/b/3.txt": b"three\n" * 900}
LAYOUT = (("tiny/a/*.txt", 2), ("tiny/b/*.txt", 1))


def make_zip(path: Path, files=FILES) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def make_targz(path: Path, files=FILES) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves server.directory; honours 'Range: bytes=N-'; records (path, Range) per request;
    server.cut[name] = n sends only n body bytes (with the full Content-Length) then closes."""

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        name = self.path.lstrip("/")
        rng = self.headers.get("Range")
        srv.requests.append((name, rng))
        path = srv.directory / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        if start >= len(data) and rng:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return
        body = data[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: srv.cut.pop(name, len(body))])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.directory = tmp_path / "srv"
    srv.directory.mkdir()
    srv.requests, srv.cut = [], {}
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def spec_for(url: str, filename: str, digest, layout=LAYOUT, manual=False) -> DatasetSpec:
    return DatasetSpec("tiny", (RemoteFile(url, filename, digest),), layout, "test licence",
                       manual=manual, instructions="ask the authors", script="tiny.py")


def test_prepare_zip_over_http_then_rerun_does_nothing(server, tmp_path):
    arc = make_zip(server.directory / "tiny.zip")
    spec = spec_for(server.url + "tiny.zip", "tiny.zip", sha256(arc))
    root, logs = tmp_path / "root", []
    stamp = dl.prepare(spec, root, progress=False, log=logs.append)
    assert (root / "tiny/b/3.txt").read_bytes() == FILES["tiny/b/3.txt"]
    assert (root / ".complete").is_file() and stamp["files"]["tiny.zip"] == sha256(arc)
    assert server.requests == [("tiny.zip", None)]
    assert dl.is_prepared(spec, root) and not dl.check_layout(root, spec)
    logs.clear()
    dl.prepare(spec, root, progress=False, log=logs.append)
    assert len(server.requests) == 1  # no second download
    assert logs == [f"tiny: already prepared in {root} (stamp {root / '.complete'}); nothing to do"]


def test_file_url_targz_without_published_hash_records_sha256(tmp_path):
    arc = make_targz(tmp_path / "tiny.tar.gz")
    spec = spec_for(arc.as_uri(), "tiny.tar.gz", None)
    logs = []
    stamp = dl.prepare(spec, tmp_path / "root", progress=False, log=logs.append)
    assert stamp["files"]["tiny.tar.gz"] == sha256(arc)
    assert any("no published checksum" in m and sha256(arc) in m for m in logs)
    assert (tmp_path / "root/tiny/a/2.txt").read_bytes() == FILES["tiny/a/2.txt"]


def test_md5_checksum_accepted(tmp_path):
    arc = make_zip(tmp_path / "t.zip")
    md5 = "md5:" + hashlib.md5(arc.read_bytes()).hexdigest()
    assert dl.verify(arc, md5) == md5
    assert dl.verify(arc, md5.split(":")[1]) == md5  # bare 32-hex digests are md5


def test_checksum_mismatch_names_both_hashes_and_leaves_no_final_file(server, tmp_path):
    arc = make_zip(server.directory / "tiny.zip")
    wrong = "sha256:" + "0" * 64
    spec = spec_for(server.url + "tiny.zip", "tiny.zip", wrong)
    root = tmp_path / "root"
    with pytest.raises(DataError) as e:
        dl.prepare(spec, root, progress=False, log=lambda m: None)
    msg = str(e.value)
    assert wrong in msg and sha256(arc) in msg and "rerun" in msg
    assert not (root / "tiny.zip").exists() and not (root / "tiny.zip.part").exists()
    assert (root / "tiny.zip.bad").read_bytes() == arc.read_bytes()
    assert not (root / ".complete").exists()


def test_existing_corrupt_file_is_quarantined(tmp_path):
    arc = make_zip(tmp_path / "tiny.zip")
    root = tmp_path / "root"
    root.mkdir()
    (root / "tiny.zip").write_bytes(b"garbage")
    with pytest.raises(DataError, match="checksum mismatch"):
        dl.prepare(spec_for(arc.as_uri(), "tiny.zip", sha256(arc)), root, log=lambda m: None)
    assert not (root / "tiny.zip").exists() and (root / "tiny.zip.bad").exists()


def test_interrupted_download_resumes_with_range(server, tmp_path):
    arc = make_targz(server.directory / "tiny.tar.gz")
    size = arc.stat().st_size
    server.cut["tiny.tar.gz"] = size // 3
    dest = tmp_path / "dl" / "tiny.tar.gz"
    with pytest.raises(DataError, match="stopped at .* bytes.*rerun"):
        dl.download(server.url + "tiny.tar.gz", dest, sha256(arc), progress=False)
    part = dest.with_name("tiny.tar.gz.part")
    assert part.stat().st_size == size // 3 and not dest.exists()
    assert dl.download(server.url + "tiny.tar.gz", dest, sha256(arc), progress=False) == sha256(arc)
    assert server.requests[-1] == ("tiny.tar.gz", f"bytes={size // 3}-")
    assert dest.read_bytes() == arc.read_bytes() and not part.exists()


def test_complete_part_file_is_finished_after_416(server, tmp_path):
    arc = make_zip(server.directory / "tiny.zip")
    dest = tmp_path / "tiny.zip"
    dest.with_name("tiny.zip.part").write_bytes(arc.read_bytes())
    assert dl.download(server.url + "tiny.zip", dest, sha256(arc), progress=False) == sha256(arc)
    assert dest.read_bytes() == arc.read_bytes()


def test_resume_over_file_url_reads_past_offset(tmp_path):
    arc = make_zip(tmp_path / "tiny.zip")
    data = arc.read_bytes()
    dest = tmp_path / "out" / "tiny.zip"
    dest.parent.mkdir()
    dest.with_name("tiny.zip.part").write_bytes(data[:100])
    dl.download(arc.as_uri(), dest, sha256(arc), progress=False)
    assert dest.read_bytes() == data


def test_http_error_is_a_data_error(server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        dl.download(server.url + "nope.zip", tmp_path / "nope.zip", progress=False)


@pytest.mark.parametrize("maker,name", [(make_zip, "t.zip"), (make_targz, "t.tar.gz")])
def test_truncated_archive_raises_clear_error(tmp_path, maker, name):
    arc = maker(tmp_path / name)
    arc.write_bytes(arc.read_bytes()[: arc.stat().st_size // 2])
    spec = spec_for(arc.as_uri(), name, None)
    with pytest.raises(DataError, match="truncated or corrupt.*delete it and rerun"):
        dl.prepare(spec, tmp_path / "root", progress=False, log=lambda m: None)
    assert not (tmp_path / "root/.complete").exists()


def test_wrong_layout_lists_missing_paths(tmp_path):
    arc = make_zip(tmp_path / "t.zip")
    layout = LAYOUT + (("tiny/c/*.png", 3), ("tiny/a/*.txt", 5))
    spec = spec_for(arc.as_uri(), "t.zip", sha256(arc), layout=layout)
    root = tmp_path / "root"
    with pytest.raises(DataError) as e:
        dl.prepare(spec, root, progress=False, log=lambda m: None)
    msg = str(e.value)
    assert f"{root / 'tiny/c/*.png'}: expected at least 3, found 0" in msg
    assert f"{root / 'tiny/a/*.txt'}: expected at least 5, found 2" in msg
    assert "tiny/b" not in msg and not (root / ".complete").exists()


def test_stamp_with_other_hash_is_not_trusted(tmp_path):
    arc = make_zip(tmp_path / "t.zip")
    spec = spec_for(arc.as_uri(), "t.zip", sha256(arc))
    root = tmp_path / "root"
    dl.prepare(spec, root, progress=False, log=lambda m: None)
    stamp = (root / ".complete").read_text().replace(sha256(arc), "sha256:" + "1" * 64)
    (root / ".complete").write_text(stamp)
    assert not dl.is_prepared(spec, root)
    logs = []
    dl.prepare(spec, root, progress=False, log=logs.append)
    assert not any("nothing to do" in m for m in logs) and dl.is_prepared(spec, root)


def _evil_zip(path: Path, name: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", b"ok")
        zf.writestr(name, b"evil")
    return path


def _evil_tar(path: Path, name: str, link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo(name)
        if link is None:
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
        else:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
    return path


@pytest.mark.parametrize("make", [
    lambda p: _evil_zip(p / "e.zip", "../evil.txt"),
    lambda p: _evil_zip(p / "e.zip", "a/../../evil.txt"),
    lambda p: _evil_tar(p / "e.tar.gz", "../evil.txt"),
    lambda p: _evil_tar(p / "e.tar.gz", "/tmp/ci_inpaint_evil.txt"),
    lambda p: _evil_tar(p / "e.tar.gz", "inner/link", link="../../evil.txt"),
])
def test_path_traversal_members_are_refused(tmp_path, make):
    arc = make(tmp_path)
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="outside"):
        dl.extract(arc, dest)
    assert not (tmp_path / "evil.txt").exists() and not (dest / "ok.txt").exists()


def test_manual_dataset_prints_instructions_then_verifies(tmp_path):
    arc = make_zip(tmp_path / "t.zip")
    spec = spec_for(None, "t.zip", sha256(arc), manual=True)
    root, logs = tmp_path / "root", []
    with pytest.raises(DataError, match=r"t\.zip not found in .*tiny\.py --help"):
        dl.prepare(spec, root, log=logs.append)
    assert "ask the authors" in logs[0] and "t.zip" in logs[0] and "tiny/a/*.txt" in logs[0]
    (root / "t.zip").write_bytes(arc.read_bytes())
    stamp = dl.prepare(spec, root, log=logs.append)
    assert stamp["files"] == {"t.zip": sha256(arc)} and (root / "tiny/a/1.txt").is_file()


def test_manual_dataset_already_extracted_by_hand(tmp_path):
    root = tmp_path / "root"
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    spec = spec_for(None, "t.zip", "sha256:" + "0" * 64, manual=True)
    assert dl.prepare(spec, root, log=lambda m: None)["files"] == {}
    assert dl.is_prepared(spec, root)


def test_write_subset_list_is_deterministic(tmp_path):
    for i in range(20):
        (tmp_path / f"img_{i:02d}.jpg").write_bytes(b"x")
    a = dl.write_subset_list(tmp_path, "*.jpg", 5, seed=0).read_text().split()
    b = dl.write_subset_list(tmp_path, "*.jpg", 5, seed=0, out=tmp_path / "b.txt").read_text()
    c = dl.write_subset_list(tmp_path, "*.jpg", 5, seed=1, out=tmp_path / "c.txt").read_text()
    assert a == b.split() and a != c.split() and a == sorted(a) and len(set(a)) == 5
    with pytest.raises(DataError, match="more files than the 20"):
        dl.write_subset_list(tmp_path, "*.jpg", 21)


def test_registry_is_consistent():
    scripts = {p.name for p in (REPO / "data_scripts").glob("*.py")}
    assert {"cifar10", "celeba", "celeba_hq", "places2_val", "nvidia_masks",
            "pix2pix_facades", "cyclegan_horse2zebra", "paris_streetview"} <= set(dl.SPECS)
    for name, spec in dl.SPECS.items():
        assert spec.name == name and spec.layout and spec.licence and spec.script in scripts
        assert not spec.manual or spec.instructions
        for f in spec.files:
            assert spec.manual or f.url, f"{name}: automatic dataset without URL"
            if f.hash:
                algo, hexd = dl._parse_hash(f.hash)
                assert len(hexd) == {"md5": 32, "sha256": 64}[algo]
    assert dl.SPECS["cifar10"].files[0].hash == "md5:c58f30108f718f92721af3b95e74349a"


def test_default_root_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path))
    assert dl.default_root("cifar10") == tmp_path / "cifar10"
    monkeypatch.delenv("CI_INPAINT_DATA")
    assert dl.default_root("x") == Path.home() / ".cache/ci_inpaint/data/x"


def test_script_main_manual_dataset_exits_1_with_one_line_error(tmp_path, capsys):
    assert dl.script_main(["paris_streetview"], "doc", ["--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "E-mail the Context Encoders authors" in out
    assert err.startswith("error: paris_streetview in") and err.count("\n") == 1


_RUN_HELP = """
import contextlib, io, runpy, sys
for path in sys.argv[1:]:
    sys.argv, buf = [path, "--help"], io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        assert e.code in (0, None), f"{path} --help exited with {e.code}"
    out = buf.getvalue()
    assert "--root" in out and "datasets:" in out and "licence" in out, path
    print("OK", path)
"""


def test_every_data_script_has_help():
    """Each script's --help, run as __main__ in one fresh interpreter (one torch import, not 8)."""
    scripts = sorted(str(p) for p in (REPO / "data_scripts").glob("*.py"))
    assert len(scripts) >= 8
    r = subprocess.run([sys.executable, "-c", _RUN_HELP, *scripts], capture_output=True,
                       text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("OK ") == len(scripts)


def test_failed_download_mentions_a_part_file_only_when_one_is_kept(server, tmp_path):
    """Nothing fetched: no '.part' is claimed (and none is left); some bytes fetched: the
    message names the kept .part with its size, which exists."""
    dest = tmp_path / "dl" / "tiny.zip"
    part = dest.with_name("tiny.zip.part")
    with pytest.raises(DataError) as e:
        dl.download("http://127.0.0.1:9/tiny.zip", dest, progress=False, timeout=5)
    assert ".part" not in str(e.value) and "rerun" in str(e.value) and not part.exists()
    arc = make_zip(server.directory / "tiny.zip")
    server.cut["tiny.zip"] = 0  # headers promise the file, the body is empty
    with pytest.raises(DataError) as e:
        dl.download(server.url + "tiny.zip", dest, sha256(arc), progress=False)
    assert ".part" not in str(e.value) and not part.exists()
    server.cut["tiny.zip"] = 50
    with pytest.raises(DataError) as e:
        dl.download(server.url + "tiny.zip", dest, sha256(arc), progress=False)
    assert f"resumes from the 50 bytes kept in {part}" in str(e.value)
    assert part.stat().st_size == 50


def test_recorded_checksum_is_announced_only_once_the_stamp_holds_it(tmp_path):
    """An unpublished hash is said to be 'recorded in .complete' only when that file exists
    and holds it; a preparation that fails on its layout claims no record."""
    arc = make_targz(tmp_path / "tiny.tar.gz")
    root, logs = tmp_path / "root", []

    def log(msg):
        logs.append((msg, (root / ".complete").is_file()))

    bad = spec_for(arc.as_uri(), "tiny.tar.gz", None, layout=LAYOUT + (("tiny/z/*", 1),))
    with pytest.raises(DataError, match="lacks the expected layout"):
        dl.prepare(bad, root, progress=False, log=log)
    assert not any("no published checksum" in m for m, _ in logs)
    assert not (root / ".complete").exists()
    logs.clear()
    stamp = dl.prepare(spec_for(arc.as_uri(), "tiny.tar.gz", None), root, progress=False, log=log)
    said = [(m, stamped) for m, stamped in logs if "no published checksum" in m]
    assert len(said) == 1 and said[0][1] and sha256(arc) in said[0][0]
    assert str(root / ".complete") in said[0][0] and stamp["files"]["tiny.tar.gz"] == sha256(arc)
