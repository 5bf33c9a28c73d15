"""Against an OpenAI-compatible server that knows nothing of citecast's prompts.

tests/fakes/openai_chat.py reads citecast's prompt format to answer; this one
does not. It is written from the chat-completions API alone: it fills every
string of whatever JSON schema the request asks for with hostile text (plus
any URL it saw in the messages, as a model echoing its input would), floods
past any cap, hangs, or trickles its answer. Whatever it does, the weekly run
publishes only the canonical link and words, and the bounds hold.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citecast.distribution.links import find_links
from citecast.distribution.run import run_week

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
HOSTILE = ("Read //evil.example/x or evil.example/path or 198.51.100.7/x, xn--80ak6aa92e.com, "
           "[more](https://evil.example/m) <a href='https://evil.example'>x</a> ｅｖｉｌ．ｃｏｍ ＠someone ＃広告 #広告 "
           "<script>alert(1)</script> {{ 7*7 }} {% raw %}")


def instance(schema: dict, defs: dict, text: str):
    """A value of the JSON schema with every string set to `text`."""
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], defs, text)
    kind = schema.get("type")
    if kind == "object":
        return {k: instance(v, defs, text) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance(schema.get("items", {}), defs, text) for _ in range(3)]
    return text


class Server:
    def __init__(self, mode: str):
        self.mode, self.requests = mode, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.answer(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        if self.mode == "hang":
            time.sleep(30)
        if self.mode == "trickle":
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 1000:
                try:
                    h.wfile.write(bytes([byte]))
                    h.wfile.flush()
                except OSError:
                    return
                time.sleep(0.3)
        if self.mode in ("garbage", "no_choices", "not_json_content"):
            data = {"garbage": b"<html><body>502 Bad Gateway</body></html>",
                    "no_choices": json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                              "choices": []}).encode(),
                    "not_json_content": json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                                        "role": "assistant", "content": "Sure! Visit evil.example"}}],
                                                    }).encode()}[self.mode]
            h.send_response(200)
            h.send_header("Content-Type", "text/html" if self.mode == "garbage" else "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        seen = " ".join(re.findall(r"https?://\S+", json.dumps(body["messages"])))
        rf = body.get("response_format", {})
        schema = rf.get("json_schema", {}).get("schema", {"type": "object"})
        text = HOSTILE + " " + seen
        if self.mode == "flood":
            text += " flood" * 400_000
        content = json.dumps(instance(schema, schema.get("$defs", {}), text))
        data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": content}}],
                           "usage": {"prompt_tokens": 1000, "completion_tokens": len(content) // 4}}).encode()
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("mode", ["hostile", "flood", "hang", "trickle", "garbage", "no_choices", "not_json_content"])
def test_nothing_but_the_link_and_words_is_published_and_bounds_hold(project, monkeypatch, mode, caplog):
    server = Server(mode)
    try:
        for key, value in {"MODEL": "any-model", "BASE_URL": server.base_url, "TIMEOUT_SECONDS": "1",
                           "PAGE_DEADLINE_SECONDS": "2", "MAX_RETRIES": "2", "CONCURRENCY": "8"}.items():
            monkeypatch.setenv(f"CITECAST_LLM__{key}", value)
        start = time.monotonic()
        report = run_week(project.settings(), now=MONDAY)
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    assert report.count("dry_run") == 15 and report.count("failed") == 0
    assert elapsed < 12, elapsed  # 5 pages at once, 2 s deadline each, then the offline fallback
    assert all(r.get("max_completion_tokens") and r.get("max_tokens") for r in server.requests)
    for post in project.sent():
        text = "\n".join(post["parts"]) + "\n" + (post.get("title") or "")
        assert [u for u in find_links(text)] == [f"https://citecast.dev/{post['key'].split(':')[0]}"], text
        for bad in ("evil", "ｅｖｉｌ", "198.51", "someone", "広告", "script", "7*7", "{%", "flood"):
            assert bad not in text, (bad, text)
    assert {o.generator for o in report.outcomes} == {"fallback"}
    assert "Traceback" not in caplog.text and "failed unexpectedly" not in caplog.text  # every case is a known one
