"""A real Prefect server for end-to-end tests: `prefect server start` on 127.0.0.1.

It runs with its own PREFECT_HOME (its SQLite database lives there), on a free
port, and is stopped (the whole process group) when the test session ends,
also after a failure. Children started with `env()` talk to it and nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 180.0  # a fresh server answers after ~23 s on a 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_bin() -> str:
    """The `prefect` command next to this interpreter (the venv's)."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


def stop(proc: subprocess.Popen | None, grace: float = 15.0) -> None:
    """Stop a process started with start_new_session=True, and its children."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class PrefectServer:
    def __init__(self, home: Path | None = None, port: int | None = None, server_env: dict[str, str] | None = None):
        self.server_env = server_env or {}
        self._owns_home = home is None
        self.home = Path(home or tempfile.mkdtemp(prefix="citecast-e2e-prefect-"))
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = self.home / "server.log"
        self.proc: subprocess.Popen | None = None
        self.started_in: float | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for child processes (CLI, worker) that points at this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_UI_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_CLI_PROMPT="false",
        )
        env.update(extra)
        return env

    def start(self) -> "PrefectServer":
        t0 = time.monotonic()
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [prefect_bin(), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env(**self.server_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = t0 + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    self.started_in = time.monotonic() - t0
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"prefect server did not answer /api/health in {STARTUP_TIMEOUT:.0f} s:\n{tail}")

    def stop(self) -> None:
        stop(self.proc)
        if self._owns_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def cli(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run `prefect ARGS` against this server; raise with the output on failure."""
        done = subprocess.run([prefect_bin(), *args], cwd=cwd, env=env or self.env(), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def start_worker(self, pool: str, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
        """A process worker that polls every second (the default is 10 s)."""
        env = dict(env, PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="5")
        log = log_path.open("wb")
        return subprocess.Popen(
            [prefect_bin(), "worker", "start", "--pool", pool, "--type", "process"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def started_or_fail(server_env: dict[str, str] | None = None):
    """For a module fixture (`yield from`): a running server, stopped after; a server that does
    not start fails the tests with its log."""
    import pytest

    srv = PrefectServer(server_env=server_env)
    try:
        srv.start()
    except RuntimeError as exc:
        srv.stop()
        pytest.fail(f"could not start a Prefect server: {exc}")
    try:
        yield srv
    finally:
        srv.stop()


def project_copy(root: Path, repo: Path) -> Path:
    """`root` made a copy of the project as a team would deploy it: prefect.yaml, flows, settings,
    pages, templates."""
    root.mkdir()
    for name in ("prefect.yaml", "citecast.toml"):
        shutil.copy(repo / name, root / name)
    for name in ("flows", "content", "templates"):
        shutil.copytree(repo / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root
