"""``sports_data: bigbench``: BIG-bench's task.json fetched over HTTP from where it is published, checked by
its sha256, cached atomically. A real HTTP server on localhost stands in for the BIG-bench repository
(``$SUMMEVAL_BIGBENCH_URL`` points at it); the expected hash is that of a small task.json made here (the
real file is not in the tests)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from summeval_tasks.sports import bigbench_file
from summeval_tasks.sports.bigbench_file import BigbenchSourceError, bigbench_task_json, cached_path
from summeval_tasks.sports.source import load_statements
from summeval_tasks.sports.statements import TASK_PREFIX, split_of

STATEMENTS = [f"Player {n} made a play" for n in range(40)]


def _task_json() -> bytes:
    examples = [
        {"input": text, "target_scores": {"plausible": n % 2, "implausible": 1 - n % 2}}
        for n, text in enumerate(STATEMENTS)
    ]
    examples.append(dict(examples[3]))  # a same-label repeat, as the real file has 14
    assert {split_of(t) for t in STATEMENTS} == {"train", "validation"}
    task = {"name": "sports_understanding", "task_prefix": TASK_PREFIX, "examples": examples}
    return json.dumps(task).encode()


class _Server:
    """Serves ``body`` (or an HTTP ``status``) at every path; counts the requests."""

    def __init__(self, body: bytes = b"", status: int = 200):
        self.body, self.status, self.requests = body, status, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server name)
                server.requests += 1
                self.send_response(server.status)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/task.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Start a server; SUMMEVAL_CACHE empty, SUMMEVAL_BIGBENCH_URL at it, the expected hash the body's."""
    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path / "cache"))
    servers = []

    def start(body: bytes, *, status: int = 200, expected: bytes | None = None) -> _Server:
        server = _Server(body, status)
        servers.append(server)
        monkeypatch.setenv(bigbench_file.URL_ENV, server.url)
        monkeypatch.setattr(bigbench_file, "SHA256", hashlib.sha256(expected or body).hexdigest())
        return server

    yield start
    for server in servers:
        server.close()


def _cache_holds_nothing() -> bool:
    folder = cached_path().parent
    return not folder.exists() or list(folder.iterdir()) == []


def test_the_file_is_fetched_once_checked_cached_and_parsed_with_its_repeats_dropped(served, caplog):
    data = _task_json()
    server = served(data)
    statements = load_statements("bigbench")
    assert sum(len(v) for v in statements.values()) == 40  # the repeat dropped, with one warning
    assert "1 repeated statement(s) with the same label dropped" in caplog.text
    assert cached_path().read_bytes() == data and server.requests == 1
    assert [p.name for p in cached_path().parent.iterdir()] == ["task.json"]  # no temporary left
    assert load_statements("bigbench") == statements and server.requests == 1  # read from the cache


def test_the_same_bytes_by_path_get_the_same_treatment(served, tmp_path):
    data = _task_json()
    served(data)
    by_path = tmp_path / "task.json"
    by_path.write_bytes(data)
    assert load_statements(str(by_path)) == load_statements("bigbench")


def test_other_bytes_are_refused_and_nothing_is_cached(served):
    served(b'{"examples": []}', expected=_task_json())
    with pytest.raises(BigbenchSourceError, match=r"what it sent has sha256 .* not the BIG-bench file's"):
        bigbench_task_json()
    assert _cache_holds_nothing()


def test_an_answer_too_large_is_refused_unread(served, monkeypatch):
    monkeypatch.setattr(bigbench_file, "MAX_BYTES", 1000)
    served(_task_json())
    with pytest.raises(BigbenchSourceError, match="over 1,000 bytes"):
        bigbench_task_json()
    assert _cache_holds_nothing()


def test_an_http_error_is_one_line_that_says_how_to_pass_the_file(served):
    served(b"not found", status=404)
    with pytest.raises(BigbenchSourceError) as err:
        bigbench_task_json()
    message = str(err.value)
    assert "HTTP 404" in message and '"sports_data": "PATH/task.json"' in message and "'generated'" in message
    assert "\n" not in message and _cache_holds_nothing()


def test_an_unreachable_address_fails_at_once(tmp_path, monkeypatch):
    import socket
    import time

    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path / "cache"))
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv(bigbench_file.URL_ENV, f"http://127.0.0.1:{port}/task.json")
    start = time.monotonic()
    with pytest.raises(BigbenchSourceError, match="cannot fetch the BIG-bench task.json .*refused"):
        load_statements("bigbench")
    assert time.monotonic() - start < 5 and _cache_holds_nothing()


def test_a_damaged_cache_is_fetched_again_not_trusted(served):
    data = _task_json()
    server = served(data)
    target = cached_path()
    target.parent.mkdir(parents=True)
    target.write_bytes(data[:-10])  # truncated
    assert bigbench_task_json() == target and target.read_bytes() == data and server.requests == 1


def test_a_cache_file_that_is_a_link_is_replaced_not_followed(served, tmp_path):
    data = _task_json()
    served(data)
    elsewhere = tmp_path / "someone_elses.json"
    elsewhere.write_bytes(data)  # even the right bytes: the link is not ours to trust
    target = cached_path()
    target.parent.mkdir(parents=True)
    target.symlink_to(elsewhere)
    assert bigbench_task_json() == target
    assert not target.is_symlink() and target.read_bytes() == data
    assert elsewhere.read_bytes() == data
