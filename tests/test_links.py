"""Shareable links: the API, the real HTTP server on a loopback port, and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lsfs import LSFS
from lsfs.apis.link import expiry_time, link_id_of
from lsfs.errors import NotFound, UserError
from lsfs.server import LinkServer, content_disposition, parse_range

from conftest import REPO, damage_object, run_cli, write_tree

TEXT = "The quick brown fox jumps over the lazy dog.\n" * 4  # 180 bytes


# -- fixtures: one root opened by this process, its link server in a thread ------------------

@pytest.fixture(scope="module")
def fs(tmp_path_factory):
    root = tmp_path_factory.mktemp("links") / "root"
    write_tree(root, {"notes/fox.md": TEXT, "web/page.html": "<html><script>alert(document.cookie)</script></html>"})
    with LSFS.init(root) as opened:
        yield opened


@pytest.fixture(scope="module")
def server(fs):
    srv = LinkServer(fs.root, "127.0.0.1", 0, hit_interval=0.05)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.stop()
    thread.join(5)


_counter = iter(range(10**6))


def new_file(fs, content: str | bytes = TEXT, suffix: str = ".md") -> str:
    """A fresh file (its own name per test) written through LSFS."""
    rel = f"shared/file{next(_counter)}{suffix}"
    fs.overwrite(rel, content)
    return rel


def target(url: str) -> str:
    return urlsplit(url).path


def fetch(server, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    """(status, headers {lower-case name: value}, body) over a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def raw(server, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes exactly as given and read the reply until the server closes."""
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may answer and close before reading everything we send
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


def without_date(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "date"}


@pytest.fixture(scope="module")
def baseline_404(server):
    """The one 404 every refused token gets."""
    status, headers, body = fetch(server, "/l/000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert status == 404
    return without_date(headers), body


def assert_same_404(server, baseline, path: str, method: str = "GET") -> None:
    status, headers, body = fetch(server, path, method)
    assert status == 404, path
    if method == "GET":
        assert (without_date(headers), body) == baseline, path
    else:
        assert without_date(headers) == baseline[0] and body == b""


# -- serving --------------------------------------------------------------------------------

def test_a_link_serves_the_file_with_its_type_name_and_content_hash(fs, server):
    rel = new_file(fs)
    made = fs.link(rel)
    status, headers, body = fetch(server, target(made.url))
    assert status == 200 and body == TEXT.encode()
    assert headers["content-type"] == "text/markdown; charset=utf-8"
    assert headers["content-disposition"] == f'inline; filename="{Path(rel).name}"'
    assert headers["etag"] == f'"{hashlib.sha256(TEXT.encode()).hexdigest()}"'
    assert headers["content-length"] == str(len(TEXT)) and headers["accept-ranges"] == "bytes"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"].startswith("private")


def test_the_printed_url_is_base_slash_l_slash_token(fs, server):
    made = fs.link(new_file(fs))
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/l/[0-9a-f]{12}\.[A-Za-z0-9_-]{32}", made.url)
    assert made.url.startswith(server.url + "/l/")  # the running server's address, noted for `lsfs link`


def test_head_sends_the_headers_without_the_body(fs, server):
    made = fs.link(new_file(fs))
    status, headers, body = fetch(server, target(made.url), "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(TEXT))


def test_byte_ranges_closed_open_ended_and_suffix(fs, server):
    made = fs.link(new_file(fs))
    data, n = TEXT.encode(), len(TEXT)
    for spec, start, stop in [("bytes=4-8", 4, 9), ("bytes=170-", 170, n), ("bytes=-7", n - 7, n),
                              ("bytes=100-99999", 100, n), ("bytes=-5000", 0, n)]:
        status, headers, body = fetch(server, target(made.url), headers={"Range": spec})
        assert status == 206, spec
        assert body == data[start:stop], spec
        assert headers["content-range"] == f"bytes {start}-{stop - 1}/{n}", spec
        assert headers["content-length"] == str(stop - start)


def test_an_unsatisfiable_range_is_416_with_the_size(fs, server):
    made = fs.link(new_file(fs))
    for spec in ("bytes=180-", "bytes=5000-6000", "bytes=-0"):
        status, headers, body = fetch(server, target(made.url), headers={"Range": spec})
        assert status == 416, spec
        assert headers["content-range"] == f"bytes */{len(TEXT)}" and body == b""


def test_several_or_malformed_ranges_get_the_whole_file(fs, server):
    made = fs.link(new_file(fs))
    for spec in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=abc"):
        status, _, body = fetch(server, target(made.url), headers={"Range": spec})
        assert status == 200 and body == TEXT.encode(), spec


def test_if_range_with_a_stale_etag_sends_the_whole_file(fs, server):
    made = fs.link(new_file(fs))
    status, _, body = fetch(server, target(made.url), headers={"Range": "bytes=0-3", "If-Range": '"stale"'})
    assert status == 200 and body == TEXT.encode()
    etag = fetch(server, target(made.url), "HEAD")[1]["etag"]
    status, _, body = fetch(server, target(made.url), headers={"Range": "bytes=0-3", "If-Range": etag})
    assert status == 206 and body == TEXT.encode()[:4]


def test_if_none_match_with_the_current_etag_is_304(fs, server):
    made = fs.link(new_file(fs))
    etag = fetch(server, target(made.url))[1]["etag"]
    status, headers, body = fetch(server, target(made.url), headers={"If-None-Match": f'"other", {etag}'})
    assert status == 304 and body == b"" and headers["etag"] == etag
    assert fetch(server, target(made.url), headers={"If-None-Match": '"other"'})[0] == 200


def test_an_empty_file_is_served_and_any_range_of_it_is_416(fs, server):
    made = fs.link(new_file(fs, ""))
    assert fetch(server, target(made.url))[:3:2] == (200, b"")
    assert fetch(server, target(made.url), headers={"Range": "bytes=0-"})[0] == 416


def test_one_connection_serves_several_requests(fs, server):
    made = fs.link(new_file(fs))
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        for method in ("GET", "HEAD", "GET"):
            conn.request(method, target(made.url))
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read() == (TEXT.encode() if method == "GET" else b"")
    finally:
        conn.close()


def test_a_binary_file_round_trips_byte_for_byte(fs, server):
    blob = bytes(range(256)) * 3000  # 768 KB, several read blocks
    rel = f"shared/blob{next(_counter)}.bin"
    (fs.root / rel).write_bytes(blob)  # LSFS writes only text; a binary arrives from outside
    fs.index([rel])
    made = fs.link(rel)
    status, headers, body = fetch(server, target(made.url))
    assert status == 200 and body == blob and headers["content-type"] == "application/octet-stream"
    status, _, body = fetch(server, target(made.url), headers={"Range": "bytes=300000-500000"})
    assert status == 206 and body == blob[300000:500001]


def test_html_is_sandboxed_so_it_cannot_run_script_in_this_origin(fs, server):
    made = fs.link("web/page.html")
    status, headers, _ = fetch(server, target(made.url))
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    csp = headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp


def test_a_non_ascii_file_name_is_sent_rfc_5987_encoded(fs, server):
    fs.overwrite("shared/résumé 2024.txt", "café")
    status, headers, body = fetch(server, target(fs.link("shared/résumé 2024.txt").url))
    assert status == 200 and body == "café".encode()
    assert headers["content-disposition"] == (
        "inline; filename=\"r_sum_ 2024.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt"
    )


# -- snapshot and live ----------------------------------------------------------------------

def test_a_snapshot_link_keeps_serving_the_old_content_after_an_edit(fs, server):
    rel = new_file(fs, "first draft\n")
    snap, live = fs.link(rel), fs.link(rel, live=True)
    fs.overwrite(rel, "second draft\n")
    assert fetch(server, target(snap.url))[2] == b"first draft\n"
    status, headers, body = fetch(server, target(live.url))
    assert status == 200 and body == b"second draft\n"
    assert headers["etag"] == f'"{hashlib.sha256(b"second draft" + bytes([10])).hexdigest()}"'


def test_a_live_link_sees_an_outside_edit_before_it_is_indexed(fs, server):
    rel = new_file(fs, "indexed\n")
    live = fs.link(rel, live=True)
    (fs.root / rel).write_text("edited outside LSFS\n")
    status, headers, body = fetch(server, target(live.url))
    assert status == 200 and body == b"edited outside LSFS\n"
    assert headers["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'


def test_after_a_move_snapshot_keeps_its_name_and_live_follows(fs, server):
    rel = new_file(fs, "moving house\n")
    snap, live = fs.link(rel), fs.link(rel, live=True)
    (fs.root / "moved").mkdir(exist_ok=True)
    os.rename(fs.root / rel, fs.root / "moved/new-name.md")
    fs.index()
    status, headers, body = fetch(server, target(snap.url))
    assert (status, body) == (200, b"moving house\n") and Path(rel).name in headers["content-disposition"]
    status, headers, body = fetch(server, target(live.url))
    assert (status, body) == (200, b"moving house\n") and "new-name.md" in headers["content-disposition"]


def test_after_a_delete_snapshot_still_works_and_live_is_the_same_404(fs, server, baseline_404):
    rel = new_file(fs, "soon gone\n")
    snap, live = fs.link(rel), fs.link(rel, live=True)
    fs.del_(rel)
    assert fetch(server, target(snap.url))[::2] == (200, b"soon gone\n")
    assert_same_404(server, baseline_404, target(live.url))
    assert {ln.id: ln.state for ln in fs.links()}[live.id] == "gone"


def test_a_live_link_never_follows_a_symlink_swapped_in_outside_the_root(fs, server, baseline_404, tmp_path):
    rel = new_file(fs, "harmless\n")
    live = fs.link(rel, live=True)
    secret = tmp_path / "outside.txt"
    secret.write_text("private\n")
    os.unlink(fs.root / rel)
    os.symlink(secret, fs.root / rel)
    assert_same_404(server, baseline_404, target(live.url))


def test_a_live_link_never_follows_a_symlinked_folder(fs, server, baseline_404, tmp_path):
    fs.overwrite("swapdir/doc.md", "inside\n")
    live = fs.link("swapdir/doc.md", live=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/doc.md").write_text("outside\n")
    os.rename(fs.root / "swapdir", fs.root / "swapdir-old")
    os.symlink(tmp_path / "elsewhere", fs.root / "swapdir")
    assert_same_404(server, baseline_404, target(live.url))


def test_a_file_too_large_to_keep_a_version_of_can_only_be_shared_live(fs, server):
    rel = "shared/huge.bin"
    (fs.root / "shared").mkdir(exist_ok=True)
    size = fs._root.config.max_file_bytes + 10
    with open(fs.root / rel, "wb") as fh:
        fh.truncate(size)  # sparse: cheap to make
    fs.index()
    with pytest.raises(UserError, match="--live"):
        fs.link(rel)
    live = fs.link(rel, live=True)
    status, headers, body = fetch(server, target(live.url), headers={"Range": "bytes=-4"})
    assert status == 206 and body == b"\0" * 4 and headers["content-range"] == f"bytes {size - 4}-{size - 1}/{size}"


def test_a_damaged_snapshot_object_is_a_500_and_the_server_keeps_serving(fs, server):
    rel = new_file(fs, "to be damaged\n")
    made, other = fs.link(rel), fs.link(new_file(fs))
    sha = hashlib.sha256(b"to be damaged\n").hexdigest()
    damage_object(fs.root, sha)
    status, headers, _ = fetch(server, target(made.url))
    assert status == 500 and headers["connection"] == "close"
    assert fetch(server, target(other.url))[0] == 200


# -- refusals: one 404 for everything that grants nothing -------------------------------------

def test_revoked_forged_truncated_and_unknown_tokens_get_the_identical_404(fs, server, baseline_404):
    good = fs.link(new_file(fs))
    revoked = fs.link(new_file(fs))
    fs.revoke(revoked.id)
    token = target(good.url).removeprefix("/l/")
    link_id, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    for path in [
        target(revoked.url),
        f"/l/{link_id}.{flipped}",             # forged MAC
        f"/l/{token[:-1]}",                    # truncated
        f"/l/{link_id}",                       # the id alone
        f"/l/{'f' * 12}.{mac}",                # another id with this MAC
        "/l/" + token.upper(),
        "/", "/l/", "/favicon.ico", f"/{token}", f"/l/{token}/", f"/l/{token}/x",
    ]:
        assert_same_404(server, baseline_404, path)
        assert_same_404(server, baseline_404, path, "HEAD")
    assert fetch(server, target(good.url))[0] == 200


def test_an_expired_link_gets_the_identical_404(fs, server, baseline_404):
    made = fs.link(new_file(fs), expires="2s")
    assert fetch(server, target(made.url))[0] == 200
    deadline = time.monotonic() + 4
    while fetch(server, target(made.url))[0] == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert_same_404(server, baseline_404, target(made.url))
    assert {ln.id: ln.state for ln in fs.links()}[made.id] == "expired"


def test_editing_the_expiry_in_the_catalog_does_not_extend_a_link(fs, server, baseline_404):
    made = fs.link(new_file(fs), expires="1h")
    fs._root.catalog.execute("UPDATE links SET expires = expires + 86400 * 365 WHERE id=?", (made.id,))
    assert_same_404(server, baseline_404, target(made.url))


@pytest.mark.parametrize("path", [
    "/l/..%2f..%2fetc%2fpasswd", "/l/../../etc/passwd", "/../../../etc/passwd", "/l/%2e%2e/%2e%2e/etc/passwd",
    "/l/..%252f..%252fetc%252fpasswd", "/.lsfs/secret", "/l/.lsfs%2fsecret", "/l/%00", "//etc/passwd",
    "/notes/fox.md", "/l/notes/fox.md",
])
def test_traversal_and_file_paths_in_the_url_get_the_identical_404(server, baseline_404, path):
    status, headers, body = raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status == 404 and body == baseline_404[1]
    assert {k: v for k, v in without_date(headers).items() if k != "connection"} == {
        k: v for k, v in baseline_404[0].items() if k != "connection"
    }


def test_other_methods_are_405_with_allow(fs, server):
    made = fs.link(new_file(fs))
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, _ = fetch(server, target(made.url), method, body=b"x=1")
        assert status == 405 and headers["allow"] == "GET, HEAD", method
    assert fetch(server, target(made.url))[0] == 200


def test_a_request_body_on_get_is_refused_unread(fs, server):
    made = fs.link(new_file(fs))
    status, headers, _ = raw(server, (
        f"GET {target(made.url)} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    ).encode())
    assert status == 413 and headers["connection"] == "close"


def test_oversized_headers_are_431_and_a_long_request_line_414(server):
    status, _, _ = raw(server, b"GET /l/x HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert status == 431
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(100))
    assert raw(server, b"GET /l/x HTTP/1.1\r\n" + many + b"\r\n")[0] == 431
    assert raw(server, b"GET /l/" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n")[0] == 414


def test_malformed_requests_are_400_and_http2_is_505(server):
    assert raw(server, b"GARBAGE\r\n\r\n")[0] == 400
    assert raw(server, b"GET /l/x HTTP/1.1\r\n folded: header\r\n\r\n")[0] == 400
    assert raw(server, b"GET /l/x HTTP/1.1\r\nbad header line\r\n\r\n")[0] == 400
    assert raw(server, b"GET /l/x HTTP/2.0\r\n\r\n")[0] == 505


def test_more_than_64_header_lines_are_431_though_http_server_allows_100(server):
    lines = lambda n: b"".join(b"X-H%d: 1\r\n" % i for i in range(n))
    assert raw(server, b"GET /l/x HTTP/1.1\r\n" + lines(65) + b"\r\n")[0] == 431
    assert raw(server, b"GET /l/x HTTP/1.1\r\n" + lines(63) + b"Connection: close\r\n\r\n")[0] == 404


def test_the_16_kib_header_budget_counts_all_lines_together(server):
    twenty_lines_of_1000 = b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 1000) for i in range(20))
    assert raw(server, b"GET /l/x HTTP/1.1\r\n" + twenty_lines_of_1000 + b"\r\n")[0] == 431


def test_an_http_0_9_request_is_400_not_an_answer_without_headers(fs, server):
    made = fs.link(new_file(fs))
    status, headers, _ = raw(server, f"GET {target(made.url)}\r\n\r\n".encode())
    assert status == 400 and headers["x-content-type-options"] == "nosniff"


def test_every_refusal_is_plain_text_with_the_security_headers(server):
    for request in (b"GARBAGE\r\n\r\n", b"GET /l/x HTTP/2.0\r\n\r\n", b"GET /l/" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n"):
        status, headers, body = raw(server, request)
        assert headers["content-type"] == "text/plain; charset=utf-8" and "sandbox" in headers["content-security-policy"]
        assert headers["connection"] == "close" and body == (http.client.responses[status] + "\n").encode()


def test_expect_100_continue_gets_the_final_answer_without_asking_for_the_body(fs, server):
    made = fs.link(new_file(fs))
    status, headers, _ = raw(server, (
        f"POST {target(made.url)} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    ).encode())
    assert status == 405 and headers["allow"] == "GET, HEAD"  # the first status line, so no 100 came before it


def test_connection_close_among_other_options_closes_the_connection(fs, server):
    made = fs.link(new_file(fs))
    # raw() reads until the server closes: it would time out if the connection stayed open.
    status, headers, body = raw(server, f"GET {target(made.url)} HTTP/1.1\r\nConnection: TE, close\r\n\r\n".encode())
    assert (status, headers["connection"], body) == (200, "close", TEXT.encode())


def test_empty_lines_before_the_request_line_are_ignored(fs, server):
    made = fs.link(new_file(fs))
    status, _, body = raw(server, f"\r\n\r\nGET {target(made.url)} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    assert status == 200 and body == TEXT.encode()


def test_an_idle_connection_is_closed(server, monkeypatch):
    monkeypatch.setattr(server.RequestHandlerClass, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as s:
        assert s.recv(1) == b""  # closed by the server, without an answer


def test_past_the_connection_limit_a_client_gets_503_at_once(fs, monkeypatch):
    monkeypatch.setattr("lsfs.server.MAX_CONNECTIONS", 2)
    srv = LinkServer(fs.root, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        # Connections are accepted in order, so both of these hold a slot before the third is seen.
        holders = [socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10) for _ in range(2)]
        status, headers, body = raw(srv, b"GET /l/x HTTP/1.1\r\n\r\n")
        assert (status, headers["retry-after"], body) == (503, "1", b"Service Unavailable\n")
        for holder in holders:
            holder.close()
        deadline = time.monotonic() + 10
        while raw(srv, b"GET /l/x HTTP/1.1\r\nConnection: close\r\n\r\n")[0] == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert raw(srv, b"GET /l/x HTTP/1.1\r\nConnection: close\r\n\r\n")[0] == 404  # slots come back
    finally:
        srv.stop()
        thread.join(5)


def test_http_server_notes_go_to_the_lsfs_server_logger_with_tokens_redacted(fs, server, caplog, capfd):
    made = fs.link(new_file(fs))
    caplog.set_level("DEBUG", logger="lsfs.server")
    # Four words: http.server refuses it and notes the whole request line.
    assert raw(server, f"GET {target(made.url)} extra HTTP/1.1\r\n\r\n".encode())[0] == 400
    mac = made.url.rsplit(".", 1)[1]
    assert made.id in caplog.text and mac not in caplog.text
    assert capfd.readouterr().err == ""  # nothing on standard error (http.server's default)


# -- bookkeeping ------------------------------------------------------------------------------

def test_gets_count_as_hits_and_every_request_updates_last_access(fs, server):
    made = fs.link(new_file(fs))
    before = time.time()
    fetch(server, target(made.url))
    fetch(server, target(made.url), headers={"Range": "bytes=0-1"})
    fetch(server, target(made.url), "HEAD")
    server.hits.flush()
    record = {ln.id: ln for ln in fs.links()}[made.id]
    assert record.hits == 2
    assert dt.datetime.fromisoformat(record.last_access).timestamp() >= int(before)


def test_32_concurrent_clients_all_get_the_file(fs, server):
    made = fs.link(new_file(fs))
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda _: fetch(server, target(made.url)), range(128)))
    assert all(status == 200 and body == TEXT.encode() for status, _, body in results)


def test_the_key_is_made_on_first_link_with_mode_0600(fs):
    fs.link("notes/fox.md")
    secret = fs.root / ".lsfs/secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", secret.read_text())


def test_a_key_others_can_read_is_refused_until_fixed(fs, server):
    secret = fs.root / ".lsfs/secret"
    fs.link("notes/fox.md")
    os.chmod(secret, 0o644)
    try:
        with pytest.raises(UserError, match="chmod 600"):
            fs.link("notes/fox.md")
        with pytest.raises(UserError, match="chmod 600"):
            LinkServer(fs.root, "127.0.0.1", 0)
    finally:
        os.chmod(secret, 0o600)
    fs.link("notes/fox.md")


def test_revoking_marks_the_link_and_unknown_ids_are_not_found(fs):
    made = fs.link(new_file(fs))
    assert fs.revoke(made.url).revoked  # the URL works as well as the id
    assert {ln.id: ln.state for ln in fs.links()}[made.id] == "revoked"
    assert fs.revoke(made.id).revoked  # twice is fine
    with pytest.raises(NotFound):
        fs.revoke("0123456789ab")


def test_links_of_folders_and_unknown_names_are_refused(fs):
    with pytest.raises(UserError, match="folder"):
        fs.link("notes")
    with pytest.raises(NotFound):
        fs.link("no-such-file.md")


# -- expiry parsing ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("text, expected", [
    ("48h", dt.datetime(2026, 12, 2, 12, 0)),
    ("7d", dt.datetime(2026, 12, 7, 12, 0)),
    ("2w", dt.datetime(2026, 12, 14, 12, 0)),
    ("3mo", dt.datetime(2027, 2, 28, 12, 0)),   # calendar months, clamped to the month's end
    ("P3M", dt.datetime(2027, 2, 28, 12, 0)),
    ("1y", dt.datetime(2027, 11, 30, 12, 0)),
    ("P1Y2M3DT4H5M6S", dt.datetime(2028, 2, 2, 16, 5, 6)),
    ("PT12H", dt.datetime(2026, 12, 1, 0, 0)),
    ("p2w", dt.datetime(2026, 12, 14, 12, 0)),
    ("90 min", dt.datetime(2026, 11, 30, 13, 30)),
    ("1d12h", dt.datetime(2026, 12, 2, 0, 0)),
    ("30s", dt.datetime(2026, 11, 30, 12, 0, 30)),
])
def test_expiry_durations(text, expected):
    assert expiry_time(text, NOW) == expected.replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("text", ["never", "NEVER", None])
def test_no_expiry(text):
    assert expiry_time(text, NOW) is None


@pytest.mark.parametrize("text, message", [
    ("3x", "as a duration"), ("soon", "as a duration"), ("5m", "ambiguous"), ("0d", "is zero"),
    ("-1d", "as a duration"), ("P", "as a duration"), ("PT", "as a duration"), ("P1DT", "as a duration"),
    ("99999y", "out of range"), ("", "as a duration"), ("3 mo junk", "as a duration"),
])
def test_bad_expiry_is_a_one_line_user_error(text, message):
    with pytest.raises(UserError, match=message):
        expiry_time(text, NOW)


def test_a_timedelta_and_an_aware_datetime_are_accepted():
    assert expiry_time(dt.timedelta(hours=1), NOW) == NOW + 3600
    when = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    assert expiry_time(when, NOW) == when.timestamp()


# -- small pure parts --------------------------------------------------------------------------

def test_parse_range_forms():
    assert parse_range("bytes=0-0", 10) == (0, 1)
    assert parse_range("bytes=-3", 10) == (7, 10)
    assert parse_range("bytes=7-", 10) == (7, 10)
    assert parse_range("bytes=10-", 10) == "unsatisfiable"
    assert parse_range("bytes=0-1,4-5", 10) is None


def test_content_disposition_never_lets_a_name_break_the_header():
    assert content_disposition('a"b\\c%d.txt') == "inline; filename=\"a_b_c_d.txt\"; filename*=UTF-8''a%22b%5Cc%25d.txt"


def test_link_id_of_accepts_an_id_a_token_or_a_url():
    assert link_id_of("0123456789ab") == "0123456789ab"
    assert link_id_of("https://x.example/files/l/0123456789ab.AbC_-9") == "0123456789ab"


# -- the command line and the real `lsfs serve` process ---------------------------------------

@pytest.fixture(scope="module")
def cli_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("links-cli") / "root"
    write_tree(root, {"report.md": "# Report\n\nAll figures are final.\n", "data/numbers.csv": "a,b\n1,2\n"})
    (root / ".lsfs").mkdir()
    (root / ".lsfs/config.toml").write_text("[index]\nmax_file_mb = 0.01\n")
    (root / "big.bin").write_bytes(os.urandom(20000))
    LSFS.init(root).close()
    return root


def cli(root, *args, env=None):
    return run_cli(*args, "--root", str(root), env={"LSFS_PUBLIC_URL": "", **(env or {})})


def link_count(root) -> int:
    return len(json.loads(cli(root, "links", "--json").out)["links"])


def test_cli_link_json_contract(cli_root):
    r = cli(cli_root, "link", "report", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert set(out) == {"url", "expires", "id"}
    assert out["expires"] is None
    assert re.fullmatch(r"http://127\.0\.0\.1:8765/l/[0-9a-f]{12}\.[A-Za-z0-9_-]{32}", out["url"])
    assert out["url"].split("/l/")[1].startswith(out["id"] + ".")


def test_cli_link_expires_p3m_is_about_three_months_ahead(cli_root):
    out = json.loads(cli(cli_root, "link", "report", "--expires", "P3M", "--json").out)
    ahead = dt.datetime.fromisoformat(out["expires"]) - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=88) < ahead < dt.timedelta(days=93)
    assert json.loads(cli(cli_root, "link", "report", "--expires", "never", "--json").out)["expires"] is None


def test_cli_link_prints_the_public_url_behind_a_proxy(cli_root):
    r = cli(cli_root, "link", "report", env={"LSFS_PUBLIC_URL": "https://share.example.com/files/"})
    assert r.code == 0 and re.fullmatch(r"https://share\.example\.com/files/l/\S+\n", r.out)
    bad = cli(cli_root, "link", "report", env={"LSFS_PUBLIC_URL": "share.example.com"})
    assert bad.code == 1 and bad.err.startswith("lsfs: error: LSFS_PUBLIC_URL")


def test_cli_links_lists_every_field(cli_root):
    made = json.loads(cli(cli_root, "link", "data/numbers.csv", "--live", "--json").out)
    rows = json.loads(cli(cli_root, "links", "--json").out)["links"]
    row = next(r for r in rows if r["id"] == made["id"])
    assert {"id", "path", "created", "expires", "revoked", "hits", "url", "live", "state"} <= set(row)
    assert (row["path"], row["live"], row["revoked"], row["hits"], row["state"]) == ("data/numbers.csv", True, False, 0, "active")
    text = cli(cli_root, "links")
    assert text.code == 0 and made["id"] in text.out and "(live)" in text.out


def test_cli_revoke_then_again_then_unknown(cli_root):
    made = json.loads(cli(cli_root, "link", "report", "--json").out)
    first = cli(cli_root, "revoke", made["id"])
    assert first.code == 0 and "revoked" in first.out
    again = cli(cli_root, "revoke", made["id"])
    assert again.code == 0 and "already revoked" in again.out
    unknown = cli(cli_root, "revoke", "0123456789ab")
    assert unknown.code == 1 and unknown.err.startswith("lsfs: error: no link with id") and len(unknown.err.splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (("link", "no-such-report"), "no file named"),
    (("link", "report", "--expires", "3x"), "as a duration"),
    (("link", "report", "--expires", "5m"), "ambiguous"),
    (("link", "data"), "folder"),
    (("link", "big.bin"), "--live"),
    (("link", "../outside.txt"), "outside the root"),
])
def test_cli_bad_input_exits_1_with_one_line_and_makes_no_link(cli_root, args, message):
    before = link_count(cli_root)
    r = cli(cli_root, *args)
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("lsfs: error: ") and message in r.err and len(r.err.splitlines()) == 1
    assert link_count(cli_root) == before


def test_cli_serve_runs_as_a_process_and_stops_cleanly_on_sigterm(cli_root):
    made = json.loads(cli(cli_root, "link", "big.bin", "--live", "--json").out)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LSFS_PUBLIC_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsfs", "serve", "--port", "0", "--root", str(cli_root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        base = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        host, port = urlsplit(base).hostname, urlsplit(base).port
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", urlsplit(made["url"]).path)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == (cli_root / "big.bin").read_bytes()
        conn.close()
        # `lsfs link` now prints URLs on the address the server listens on.
        assert json.loads(cli(cli_root, "link", "report", "--json").out)["url"].startswith(base + "/l/")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        (cli_root / ".lsfs/serve.json").unlink(missing_ok=True)  # later tests expect the default address
    log = proc.stderr.read()
    mac = made["url"].split("/l/")[1].split(".")[1]
    assert made["id"] in log and mac not in log  # the access log names link ids, never whole tokens
    hits = {r["id"]: r["hits"] for r in json.loads(cli(cli_root, "links", "--json").out)["links"]}
    assert hits[made["id"]] == 1  # flushed on the way out


def test_cli_serve_on_a_busy_port_is_a_one_line_error(cli_root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = cli(cli_root, "serve", "--port", str(s.getsockname()[1]))
    assert r.code == 1 and r.err.startswith("lsfs: error: cannot listen on 127.0.0.1:")
