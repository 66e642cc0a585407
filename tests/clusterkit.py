"""Real parts for the shared-index tests: an S3 server (moto) on loopback, a Ray cluster
of separate processes on loopback, and the rule that CI runs these tests, never skips them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Set in CI (.ci/run): a missing extra fails the tests instead of skipping them.
REQUIRED = os.environ.get("STEAD_REQUIRE_CLUSTER") == "1" or os.environ.get("CI") == "true"


def need(module: str) -> None:
    """Skip (with the reason) when the cluster extra is absent, unless CI requires it.
    Only looks the module up: Ray must not be imported before its environment is set."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        if REQUIRED:
            raise ImportError(f"{module} is required here (STEAD_REQUIRE_CLUSTER/CI) but not "
                              "installed: pip install -e '.[test,cluster]'")
        pytest.skip(f"{module} not installed (pip install -e '.[test,cluster]')",
                    allow_module_level=True)


#: Ray replaces a loopback node address with the machine's outward one, and binds every
#: interface, unless it believes it runs a single-machine cluster: this keeps the head,
#: the workers and the driver on 127.0.0.1.  Ray reads it when first imported.
RAY_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3:
    """moto's S3 on 127.0.0.1 with one bucket; `env` holds what a client process needs."""

    def __init__(self, bucket: str = "team") -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = bucket
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true",
                    "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
        self.reset()
        self.client().create_bucket(Bucket=bucket)

    def reset(self) -> None:
        """moto keeps its buckets in the process: start every test from none."""
        import httpx

        httpx.post(f"{self.endpoint}/moto-api/reset", timeout=30).raise_for_status()

    def client(self) -> object:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def delete_bucket(self) -> None:
        c = self.client()
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                c.delete_object(Bucket=self.bucket, Key=obj["Key"])
        c.delete_bucket(Bucket=self.bucket)

    def enforce_auth(self) -> None:
        """From now on the server checks credentials (unknown keys get 403)."""
        from moto import settings

        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    def stop(self) -> None:
        from moto import settings

        settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        self.reset()
        self.server.stop()


@contextlib.contextmanager
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    s3 = S3()
    for k, v in s3.env.items():
        monkeypatch.setenv(k, v)
    try:
        yield s3
    finally:
        s3.stop()


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def git_init(root: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(root), *cmd], check=True, env=env)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


class RayCluster:
    """A Ray head and worker nodes, each a separate `ray start --block` process (and its
    own process group, so one node can be killed whole), all on loopback."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp  # short: Ray's unix sockets live under it
        # worker nodes refuse to start under RAY_LOOPBACK's switch: tests/ray_node.py keeps
        # their addresses on loopback instead
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
                    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        launcher = str(Path(__file__).with_name("ray_node.py"))
        log = self.tmp / f"node-{len(self.workers) + (self.head is not None)}.log"
        log.unlink(missing_ok=True)
        with open(log, "wb") as out:  # what a failing test shows (see `logs`)
            return subprocess.Popen([sys.executable, launcher, "start", "--block", *args,
                                     "--node-ip-address=127.0.0.1", "--disable-usage-stats"],
                                    env=self.env, start_new_session=True, stdout=out,
                                    stderr=subprocess.STDOUT)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n" + p.read_text("utf-8", "replace")[-3000:]
                         for p in sorted(self.tmp.glob("node-*.log")))

    def start(self, workers: int) -> None:
        """The head (no CPUs: it only schedules), then each worker node once the one before
        is up: a node gets 30 s (fixed in Ray) to register, which a loaded machine needs."""
        self.head = self._start("--head", f"--port={self.port}", "--num-cpus=0",
                                "--include-dashboard=false", f"--temp-dir={self.tmp}")
        self._wait_started(self.head, "node-0.log")
        for _ in range(workers):
            for attempt in range(2):
                name = f"node-{len(self.workers) + 1}.log"
                p = self._start(f"--address={self.address}", "--num-cpus=1")
                try:
                    self._wait_started(p, name)
                    self.workers.append(p)
                    break
                except AssertionError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGKILL)
                    p.wait(30)
                    if attempt:
                        raise

    def _wait_started(self, p: subprocess.Popen[bytes], log: str) -> None:
        path = self.tmp / log

        def started() -> bool:
            if p.poll() is not None:
                raise AssertionError(f"ray node exited:\n{self.logs()}")
            return "Ray runtime started" in path.read_text("utf-8", "replace")

        wait_for(started, timeout=120)

    def kill_worker(self, i: int = 0) -> None:
        """SIGKILL a worker node whole: its raylet and the task processes it runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[i].pid, signal.SIGKILL)

    def stop(self) -> None:
        for p in [*self.workers, *([self.head] if self.head else [])]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(30)
        shutil.rmtree(self.tmp, ignore_errors=True)  # Ray's session dirs and the node logs


def wait_for(cond: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
