"""A throwaway PostgreSQL server for tests, from Debian's server binaries.

Finds /usr/lib/postgresql/<version>/bin/{initdb,pg_ctl} (or the ones on PATH),
runs initdb into a temporary folder, and starts the server on 127.0.0.1 with a
free port and its unix socket in that folder. PostgreSQL refuses to run as root,
so as root the folder is handed to the `postgres` user and every command runs as
that user (runuser, else setpriv). `stop()` shuts it down and removes the folder.

Anything that keeps it from starting raises `Unavailable` with the reason, so a
fixture can skip with that reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class Unavailable(RuntimeError):
    """No PostgreSQL can be started here; the message says why and how to fix it."""


def find_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0, reverse=True)
    if not candidates and shutil.which("initdb"):
        candidates = [shutil.which("initdb")]
    for initdb in candidates:
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl): install them with `apt-get install postgresql`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path | None = None):
        self.bindir = bindir or find_bindir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="citecast-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "server.log"
        self.user = "citecast"
        self.started = False
        self._as: list[str] = []  # the command prefix that drops root
        self._owner: pwd.struct_passwd | None = None

    # -- running commands as a user PostgreSQL accepts ---------------------

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            self._owner = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no `postgres` user to run PostgreSQL as")
        if shutil.which("runuser"):
            self._as = ["runuser", "-u", "postgres", "--"]
        elif shutil.which("setpriv"):
            self._as = ["setpriv", f"--reuid={self._owner.pw_uid}", f"--regid={self._owner.pw_gid}",
                        "--init-groups", "--"]
        else:
            raise Unavailable("running as root and neither runuser nor setpriv is available to drop privileges")
        os.chmod(self.root, 0o755)
        os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
        return subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(self.root))

    def _check(self, done: subprocess.CompletedProcess, what: str) -> None:
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise Unavailable(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}\n{log}")

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> "PostgresServer":
        try:
            self._prepare_user()
            self.sockets.mkdir()
            if self._owner:
                os.chown(self.sockets, self._owner.pw_uid, self._owner.pw_gid)
            self._check(self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                                  "--auth=trust", "--encoding=UTF8", "--no-sync"), "initdb")
            opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockets} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            self._check(self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                  "-o", opts, "-w", "-t", "60", "start", timeout=90), "pg_ctl start")
            self.started = True
            self.create_database("citecast")
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.stop()
            raise Unavailable(f"could not start PostgreSQL: {exc}") from exc
        except Unavailable:
            self.stop()
            raise
        return self

    def create_database(self, name: str) -> str:
        createdb = self.bindir / "createdb"
        self._check(self._run(str(createdb), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name),
                    f"createdb {name}")
        return self.url(name)

    def url(self, database: str = "citecast") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.started:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


def wait_for(check, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    return None


def started_or_skip():
    """For a module fixture (`yield from`): a running server, stopped after; the tests skip with the
    reason where none can be started."""
    import pytest

    try:
        server = PostgresServer().start()
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield server
    finally:
        server.stop()
