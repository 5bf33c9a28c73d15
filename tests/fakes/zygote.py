"""A warm process that forks `citecast` CLI runs, so trials can SIGKILL many runs without paying imports each time.

On these shared machines importing the CLI with every platform SDK costs 5-15 s
per process (atproto alone several seconds), more than a run's posting. The
zygote imports them once; each run is a fork that executes the real CLI entry
point (`citecast.cli.app.main`) with its own argv, cwd and environment, and is
a real process that a trial kills with SIGKILL. The zygote itself never
starts threads, so forking it is safe.

Protocol (JSON lines): stdin {"argv": [...], "cwd": "...", "env": {...}};
stdout {"pid": N} when the run starts, then {"pid": N, "rc": R} when it ends
(R negative: killed by that signal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _warm() -> None:
    import citecast.cli.app  # noqa: F401
    import citecast.distribution.run  # noqa: F401
    from citecast import channels

    for name in channels.ADAPTERS:
        cls = channels.adapter_class(name)
        for module in cls.client_modules:
            __import__(module)
    import atproto_client.models  # noqa: F401 - models load lazily on first use
    from citecast.tweet_text import load as load_twitter_text

    load_twitter_text()  # as the CLI imports it (no pkg_resources, lazy patterns), not a plain import


def _child(request: dict) -> None:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["citecast", *request["argv"]]
    code = 0
    try:
        from citecast.cli.app import main

        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report it as the CLI would: a traceback and exit 1
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    _warm()
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but protocol lines on the real stdout
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            _child(request)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        out.write(json.dumps({"pid": pid, "rc": rc}) + "\n")
        out.flush()


class Zygote:
    """The test side: start the warm process, run CLI commands in forks of it."""

    def __init__(self, repo: str):
        import queue
        import threading

        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.zygote"], cwd=repo, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(json.loads(line)) for line in self.proc.stdout],
                         daemon=True).start()

    def start(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd), "env": env}) + "\n")
        self.proc.stdin.flush()
        self.pid = self.lines.get(timeout=600)["pid"]  # the first request waits for the imports
        return self.pid

    def wait(self, timeout: float = 300.0) -> int:
        """The run's exit code; a run that hangs past `timeout` is killed (and reported as killed)."""
        import queue
        import signal

        try:
            return self.lines.get(timeout=timeout)["rc"]
        except queue.Empty:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return self.lines.get(timeout=60)["rc"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    serve()
