"""`citecast check --verify-urls` against a site served on 127.0.0.1 that misbehaves as real ones do."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citecast.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
MISSING = "/post/emoji-support/"
MOVED = "/post/custom-slug/"
SLOW = "/post/mixed-case-name/"


class Site(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        Site.requests.append(self.path)
        if self.path == SLOW:
            time.sleep(1.5)
        if self.path == MISSING:
            self.send_response(404)
        elif self.path == MOVED:
            self.send_response(301)
            self.send_header("Location", "/post/with-slug/")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "hugo", root)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "citecast.toml").write_text(f'[paths]\ncontent = "content"\n[site]\nbase_url = "{base}"\n', "utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    monkeypatch.chdir(root)
    Site.requests = []
    yield base
    server.shutdown()
    server.server_close()


def test_verify_urls_reports_404s_and_redirects(served):
    result = CliRunner().invoke(app, ["check", "--verify-urls", "--json"])
    found = {p["message"].split(" ", 1)[0]: p for p in json.loads(result.stdout)["problems"]
             if p["field"] == "canonical_url"}
    assert found[served + MISSING]["severity"] == "error" and "404" in found[served + MISSING]["message"]
    assert found[served + MOVED]["severity"] == "warning" and "/post/with-slug/" in found[served + MOVED]["message"]
    assert result.exit_code == 1  # a post would link a page that does not exist
    assert len(found) == 2  # the slow page answered within the default timeout
    assert sorted(set(Site.requests)) == sorted(Site.requests)  # each URL requested once


def test_check_stays_offline_unless_asked(served):
    result = CliRunner().invoke(app, ["check", "--json"])
    assert Site.requests == []
    assert result.exit_code == 0


def test_a_slow_site_is_a_warning_not_a_hang(served):
    from citecast.pages.loading import load_library
    from citecast.pages.verify import verify_urls
    from citecast.settings import load_settings

    settings = load_settings()
    pages = [p for p in load_library(settings).pages if p.canonical_url.endswith(SLOW)]
    start = time.monotonic()
    problems = verify_urls(pages, settings.root, timeout=0.3)
    assert time.monotonic() - start < 1.4
    assert problems and problems[0].severity == "warning" and "timeout" in problems[0].message
