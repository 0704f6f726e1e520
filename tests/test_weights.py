"""The pretrained-weights registry: paths, presence, error text, and real (local) downloads."""

import hashlib
import http.server
import threading
from functools import partial
from types import SimpleNamespace

import pytest

from ci_inpaint import weights
from ci_inpaint.errors import ConfigError, WeightsMissingError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture()
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    return tmp_path / "th" / "hub" / "checkpoints"


def test_registry_entries_are_real_and_consistent():
    files = {e.filename for e in weights.REGISTRY.values()}
    assert {"alexnet-owt-7be5be79.pth", "vgg16-397923af.pth", "vgg19-dcbb9e9d.pth",
            "squeezenet1_1-b8a52dc0.pth", "pt_inception-2015-12-05-6726825d.pth",
            "weights-inception-2015-12-05-6726825d.pth"} == files
    for e in weights.REGISTRY.values():
        assert e.url.startswith("https://") and e.url.endswith("/" + e.filename)
        if e.url.startswith("https://download.pytorch.org/models/"):
            assert e.hash_prefix and e.filename.rsplit("-", 1)[1] == e.hash_prefix + ".pth"


def test_status_on_empty_torch_home(torch_home, capsys):
    rows = weights.status_rows()
    assert len(rows) == len(weights.REGISTRY) and not any(r["present"] for r in rows)
    assert all(r["path"].startswith(str(torch_home)) for r in rows)
    assert weights.cli_status(SimpleNamespace()) == 0
    out = capsys.readouterr().out
    assert "alexnet-owt-7be5be79.pth" in out and str(torch_home) in out


def test_presence_and_require(torch_home):
    assert weights.weights_path("vgg19") == torch_home / "vgg19-dcbb9e9d.pth"
    with pytest.raises(WeightsMissingError) as err:
        weights.require("vgg19")
    msg = str(err.value)
    for part in ("vgg19-dcbb9e9d.pth", str(torch_home), "ci-inpaint weights fetch vgg19",
                 "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"):
        assert part in msg
    torch_home.mkdir(parents=True)
    (torch_home / "vgg19-dcbb9e9d.pth").write_bytes(b"fake")
    assert weights.is_present("vgg19") and weights.is_present("vgg19-dcbb9e9d.pth")
    assert weights.require("vgg19") == torch_home / "vgg19-dcbb9e9d.pth"
    assert weights.status_rows()[2]["present"]
    with pytest.raises(ConfigError, match="unknown weights"):
        weights.weights_path("resnet")


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves PAYLOAD, honouring `Range: bytes=N-` like download.pytorch.org does."""

    ranges: list = []

    def do_GET(self):
        self.ranges.append(self.headers.get("Range"))
        start = int(self.headers["Range"][6:-1]) if self.headers.get("Range") else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _fake_entry(monkeypatch, url, prefix, sha=None):
    e = weights.WeightsEntry("fake", "fake-model.pth", url, sha, prefix, "tests")
    monkeypatch.setitem(weights.REGISTRY, "fake", e)


def test_fetch_resumes_and_checks_prefix(torch_home, server, monkeypatch, capsys):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    _fake_entry(monkeypatch, server + "/fake-model.pth", digest[:8])
    torch_home.mkdir(parents=True)
    (torch_home / "fake-model.pth.part").write_bytes(PAYLOAD[:1000])  # interrupted earlier
    args = SimpleNamespace(names=["fake"], force=False)
    RangeHandler.ranges.clear()
    assert weights.cli_fetch(args) == 0
    assert RangeHandler.ranges == ["bytes=1000-"]  # only the missing tail was requested
    assert (torch_home / "fake-model.pth").read_bytes() == PAYLOAD
    assert not (torch_home / "fake-model.pth.part").exists()
    assert weights.verify("fake") is True
    assert "fake-model.pth" in capsys.readouterr().out


def test_fetch_from_file_url_with_full_sha(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "src.pth"
    src.write_bytes(PAYLOAD)
    _fake_entry(monkeypatch, src.as_uri(), None, hashlib.sha256(PAYLOAD).hexdigest())
    (path,) = weights.fetch(["fake"], progress=False)
    assert path.read_bytes() == PAYLOAD
    src.write_bytes(b"changed")  # present and not forced: no download
    assert weights.fetch(["fake"], progress=False)[0].read_bytes() == PAYLOAD


def test_fetch_hash_mismatch_raises_and_cleans_up(torch_home, server, monkeypatch):
    _fake_entry(monkeypatch, server + "/fake-model.pth", "00000000")
    with pytest.raises(WeightsMissingError, match="does not match"):
        weights.fetch(["fake"], progress=False)
    assert not (torch_home / "fake-model.pth").exists()
    assert not (torch_home / "fake-model.pth.part").exists()
    assert not list(torch_home.glob("fake-model*"))  # no .bad copy left behind either


def test_fetch_unreachable_names_the_fix(torch_home, tmp_path, monkeypatch):
    _fake_entry(monkeypatch, (tmp_path / "missing.pth").as_uri(), None)
    with pytest.raises(WeightsMissingError, match="by hand"):
        weights.fetch(["fake"], progress=False)
