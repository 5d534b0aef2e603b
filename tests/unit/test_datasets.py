"""Finding dataset files, and the downloader against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from core import datasets
from core.datasets import REGISTRY, STANDARD_FILES, DatasetSpec, download, get_spec, load, locate
from core.errors import DatasetError
from core.idx import read_idx, write_idx
from tests.helpers import FASHION


class Server:
    """127.0.0.1 HTTP server; ``routes[path] = (status, body, mode)``, mode "drop"
    announces the full length but closes the connection halfway through."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                status, body, mode = outer.routes.get(self.path, (404, b"not found", ""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def files(tmp_path):
    """Four small valid IDX .gz files and their bytes."""
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    out = {}
    for role, name in STANDARD_FILES.items():
        n = 30 if role.startswith("train") else 10
        arr = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if role.endswith("images") \
            else rng.integers(0, 10, n, dtype=np.uint8)
        out[role] = write_idx(src / name, arr).read_bytes()
    return out


def spec_for(server, files, *mirror_paths) -> DatasetSpec:
    return DatasetSpec(
        name="testset", title="Test set", classes=datasets.DIGITS,
        mirrors=tuple(server.url + p for p in mirror_paths),
        checksums={r: "md5:" + hashlib.md5(b).hexdigest() for r, b in files.items()},
    )


def serve(server, files, prefix, mode=""):
    for role, body in files.items():
        server.routes[f"{prefix}/{STANDARD_FILES[role]}"] = (200, body, mode)


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_first_mirror_404_then_second_works(server, files, tmp_path):
    serve(server, files, "/b")
    spec = spec_for(server, files, "/a/", "/b/")
    seen = []
    got = download(spec, tmp_path / "dl", progress=seen.append)
    assert set(got) == set(STANDARD_FILES)
    for role, path in got.items():
        assert path.read_bytes() == files[role]
    assert server.requests[:2] == ["/a/train-images-idx3-ubyte.gz", "/b/train-images-idx3-ubyte.gz"]
    assert listing(tmp_path / "dl") == sorted(STANDARD_FILES.values())
    # Progress: reported per file, with totals, reaching the end of each file.
    last = {p.filename: p for p in seen}
    assert set(last) == set(STANDARD_FILES.values())
    for role, name in STANDARD_FILES.items():
        assert last[name].done == last[name].total == len(files[role])
    assert [p.file_index for p in seen] == sorted(p.file_index for p in seen)
    # A second call finds them verified on disk and downloads nothing.
    before = len(server.requests)
    download(spec, tmp_path / "dl")
    assert len(server.requests) == before


def test_corrupted_bytes_refused_and_not_kept(server, files, tmp_path):
    bad = dict(files)
    bad["train_images"] = files["train_images"][:-5] + b"XXXXX"
    serve(server, bad, "/a")
    spec = spec_for(server, files, "/a/")
    with pytest.raises(DatasetError) as info:
        download(spec, tmp_path / "dl")
    msg = str(info.value)
    assert "\n" not in msg
    assert f"{server.url}/a/train-images-idx3-ubyte.gz (checksum mismatch)" in msg
    assert str(tmp_path / "dl") in msg and "--data-dir" in msg
    assert listing(tmp_path / "dl") == []


def test_dropped_connection_leaves_nothing_then_next_call_succeeds(server, files, tmp_path):
    serve(server, files, "/a", mode="drop")
    spec = spec_for(server, files, "/a/")
    with pytest.raises(DatasetError, match="tried: " + server.url):
        download(spec, tmp_path / "dl", timeout=5)
    assert listing(tmp_path / "dl") == []
    assert locate(spec, tmp_path / "dl") is None
    serve(server, files, "/a")
    got = download(spec, tmp_path / "dl", timeout=5)
    assert got["test_labels"].read_bytes() == files["test_labels"]


def test_every_mirror_failing_lists_them_all(server, files, tmp_path):
    spec = spec_for(server, files, "/a/", "/b/")
    with pytest.raises(DatasetError) as info:
        download(spec, tmp_path / "dl")
    msg = str(info.value)
    assert f"{server.url}/a/train-images-idx3-ubyte.gz (HTTP 404)" in msg
    assert f"{server.url}/b/train-images-idx3-ubyte.gz (HTTP 404)" in msg


def test_unreachable_mirror_is_reported(files, tmp_path):
    spec = DatasetSpec("x", "X", datasets.DIGITS, ("http://127.0.0.1:9/",),
                       {r: "md5:0" for r in files})
    with pytest.raises(DatasetError, match="ConnectionError"):
        download(spec, tmp_path / "dl", timeout=2)


# ------------------------------------------------------------------------ locating

def test_locate_order(tmp_path, monkeypatch, files):
    spec = get_spec("mnist")
    explicit, cache = tmp_path / "explicit", tmp_path / "cache-root"
    monkeypatch.setenv("MNIST_TUI_CACHE", str(cache))
    assert datasets.cache_dir(spec) == cache / "mnist"
    assert locate(spec, explicit) is None
    for d in (explicit, cache / "mnist"):
        d.mkdir(parents=True)
        for role, body in files.items():
            (d / STANDARD_FILES[role]).write_bytes(body)
    assert locate(spec, explicit)["train_images"].parent == explicit
    assert locate(spec)["train_images"].parent == cache / "mnist"
    # Unpacked files (no .gz) are found too.
    (explicit / "t10k-labels-idx1-ubyte.gz").rename(explicit / "t10k-labels-idx1-ubyte")
    assert locate(spec, explicit)["test_labels"].name == "t10k-labels-idx1-ubyte"


def test_registry_names_and_classes():
    assert set(REGISTRY) == {"mnist", "fashion-mnist", "kmnist"}
    assert get_spec("fashion-mnist").classes[9] == "Ankle boot"
    assert get_spec("fashion-mnist").system_dirs == ("/usr/share/datasets/fashion-mnist",)
    for spec in REGISTRY.values():
        assert len(spec.classes) == 10 and spec.mirrors and set(spec.checksums) == set(STANDARD_FILES)
    with pytest.raises(DatasetError, match="unknown dataset 'emnist'"):
        get_spec("emnist")


def test_no_download_when_not_allowed(tmp_path):
    with pytest.raises(DatasetError, match="MNIST files not found") as err:
        load("mnist", None, allow_download=False)
    assert str(tmp_path / "cache" / "mnist") in err.value.searched


def test_data_dir_means_that_folder_only(tmp_path, small_data):
    """--data-dir names the folder and the problem, never "could not download", and
    never falls back to the cache or the system copy."""
    with pytest.raises(DatasetError, match=r"empty: no such folder \(--data-dir\)"):
        load("mnist", tmp_path / "empty")
    with pytest.raises(DatasetError, match="passwd: not a folder"):
        load("mnist", "/etc/passwd")
    only_t10k = tmp_path / "t10k"
    only_t10k.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (only_t10k / name).write_bytes((small_data / name).read_bytes())
    with pytest.raises(DatasetError) as err:
        load("mnist", only_t10k)
    assert "missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (2 of 4 found" in str(err.value)
    assert "download" not in str(err.value)


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_a_bad_file_in_data_dir_is_named_not_replaced_by_the_system_copy(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    for name in STANDARD_FILES.values():
        (d / name).write_bytes((FASHION / name).read_bytes())
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz"):
        load("fashion-mnist", d)


def test_empty_training_or_test_set_is_refused(tmp_path, small_data):
    d = tmp_path / "e"
    d.mkdir()
    for name in STANDARD_FILES.values():
        (d / name).write_bytes((small_data / name).read_bytes())
    write_idx(d / STANDARD_FILES["test_images"], np.zeros((0, 28, 28), np.uint8))
    write_idx(d / STANDARD_FILES["test_labels"], np.zeros((0,), np.uint8))
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: holds no images"):
        load("mnist", d)


def test_load_small_split(small_data):
    d = load("mnist", small_data, allow_download=False)
    assert (len(d.train), len(d.test)) == (1000, 500)
    assert int(d.train[0][1]) == 7
    np.testing.assert_array_equal(d.test.images[0].reshape(28, 28).numpy(),
                                  read_idx(small_data / "t10k-images-idx3-ubyte.gz")[0])
