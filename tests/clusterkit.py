"""Real parts for the shared-index tests: an S3 server (moto) on loopback, a Ray cluster
of separate processes on loopback, and the rule that CI runs these tests, never skips them.
"""

from __future__ import annotations

import contextlib
import os
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
    """Skip (with the reason) when the cluster extra is absent, unless CI requires it."""
    try:
        __import__(module)
    except ImportError as exc:
        if REQUIRED:
            raise
        pytest.skip(f"{module} not installed (pip install -e '.[cluster]'): {exc}",
                    allow_module_level=True)


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
    """A Ray head and worker nodes as separate `ray start` processes, all on loopback."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = {**os.environ, **env, "RAY_USAGE_STATS_ENABLED": "0"}
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.ray = str(Path(sys.executable).with_name("ray"))

    def _start(self, *args: str) -> None:
        subprocess.run([self.ray, "start", *args, "--node-ip-address=127.0.0.1",
                        "--disable-usage-stats"], check=True, env=self.env,
                       capture_output=True, timeout=120)

    def start(self, workers: int, cpus_per_worker: int = 1) -> None:
        # the head runs no tasks: every batch is done by a worker node
        self._start("--head", f"--port={self.port}", "--num-cpus=0",
                    "--include-dashboard=false", f"--temp-dir={self.tmp}",
                    f"--ray-client-server-port={free_port()}",
                    f"--node-manager-port={free_port()}", f"--object-manager-port={free_port()}",
                    f"--min-worker-port={free_port()}", "--max-worker-port=0")
        for _ in range(workers):
            self.add_worker(cpus_per_worker)

    def add_worker(self, cpus: int = 1) -> None:
        self._start(f"--address={self.address}", f"--num-cpus={cpus}")

    def stop(self) -> None:
        subprocess.run([self.ray, "stop", "--force"], env=self.env, capture_output=True,
                       timeout=120)


def wait_for(cond: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
