"""Load on `lsfs serve`: 2,000 requests from 32 concurrent clients on loopback.

    PYTHONPATH=. python benchmarks/links_load.py [--requests 2000] [--clients 32] [--runs 3]

Builds a small root in a temporary folder (`lsfs init`), makes snapshot and live links
with `lsfs link`, starts a real `python -m lsfs serve --port 0 --quiet` process, and drives
it with 32 threads using http.client (standard library; no load tool needed). The mix per
request cycles through: a 4 KiB Markdown snapshot, the same file live, a 1 MiB binary
snapshot read with a 64 KiB Range, and a 304 revalidation (If-None-Match).

Two scenarios, each run --runs times (the median run is reported):
- keep-alive: each client keeps one connection open (what browsers and proxies do);
- new connection per request (the worst case for a thread-per-connection server).

Any status other than the expected one, a wrong body length or a socket error counts as an
error; the script exits 1 if there is any. The client threads share the machine's CPUs
with the server, so the figures are a floor for the server alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent


def lsfs(*args: str, root: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LSFS_PUBLIC_URL": ""}
    proc = subprocess.run([sys.executable, "-m", "lsfs", *args, "--root", str(root)],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"lsfs {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def build_root(tmp: Path) -> tuple[Path, list[tuple]]:
    root = tmp / "root"
    (root / "notes").mkdir(parents=True)
    (root / "notes/report.md").write_text(("Quarterly figures, all final. " * 140)[:4096])
    (root / "media").mkdir()
    (root / "media/clip.bin").write_bytes(os.urandom(1 << 20))
    lsfs("init", str(root), root=root)
    link = lambda *a: urlsplit(json.loads(lsfs("link", *a, "--json", root=root))["url"]).path  # noqa: E731
    snap, live, blob = link("notes/report.md"), link("notes/report.md", "--live"), link("media/clip.bin")
    # (path, extra headers, expected status, expected body length)
    mix = [
        (snap, {}, 200, 4096),
        (live, {}, 200, 4096),
        (blob, {"Range": "bytes=65536-131071"}, 206, 65536),
        (snap, {"If-None-Match": None}, 304, 0),  # the ETag is filled in below
    ]
    return root, mix


def start_server(root: Path) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "lsfs", "serve", "--port", "0", "--quiet", "--root", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = proc.stdout.readline().strip()
    if not base:
        sys.exit(f"lsfs serve did not start: {proc.stderr.read()}")
    parts = urlsplit(base)
    return proc, parts.hostname, parts.port


def run(host: str, port: int, mix: list, requests: int, clients: int, keep_alive: bool) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    start_gate = threading.Barrier(clients)

    def client() -> None:
        conn = None
        mine, bad = [], []
        start_gate.wait()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, headers, want_status, want_len = mix[i % len(mix)]
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != want_status or len(body) != want_len:
                    bad.append(f"{path}: {resp.status}, {len(body)} bytes")
                if not keep_alive or resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                bad.append(f"{path}: {type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            mine.append(time.perf_counter() - t0)
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": len(latencies), "errors": len(errors), "error_samples": errors[:5],
            "seconds": round(wall, 3), "req_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2),
            "max_ms": round(latencies[-1] * 1000, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lsfs-links-bench-") as tmp:
        root, mix = build_root(Path(tmp))
        proc, host, port = start_server(root)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("HEAD", mix[0][0])
            etag = conn.getresponse().getheader("ETag")
            conn.close()
            mix[3] = (mix[3][0], {"If-None-Match": etag}, 304, 0)
            report = {}
            for name, keep in (("keep-alive", True), ("new connection per request", False)):
                runs = [run(host, port, mix, args.requests, args.clients, keep) for _ in range(args.runs)]
                runs.sort(key=lambda r: r["req_per_s"])
                report[name] = {"median_run": runs[len(runs) // 2],
                                "req_per_s_all_runs": [r["req_per_s"] for r in runs],
                                "errors_all_runs": sum(r["errors"] for r in runs)}
        finally:
            proc.terminate()
            proc.wait(10)
        hits = sum(r["hits"] for r in json.loads(lsfs("links", "--json", root=root))["links"])
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
           "requests_per_run": args.requests, "clients": args.clients, "runs": args.runs,
           "hits_recorded": hits, "scenarios": report}
    print(json.dumps(out, indent=2))
    if any(s["errors_all_runs"] for s in report.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
