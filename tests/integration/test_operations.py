"""Operations: probes, metrics, audit log, admission control, API keys,
graceful shutdown, SIGHUP, doctor --json."""
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time

import httpx
import pytest

from conftest import BIN, ROOTFS, Server, cgroup_dirs, job_processes, wait_until


def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, f"malformed exposition line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_probes(server):
    assert server.client.get("/healthz").status_code == 200
    r = server.client.get("/readyz")
    assert (r.status_code, r.text) == (200, "ready\n")
    assert server.client.get("/api/health").text == "OK"
    assert server.client.post("/readyz").status_code == 405


def test_metrics_count_outcomes(server):
    before = parse_metrics(server.client.get("/metrics").text)
    server.ok("print(1)")
    server.ok("import sys; sys.exit(2)")
    server.ok("import time; time.sleep(5)", timeout_s=0.3)
    server.ok("x = bytearray(300 << 20)", memory_mb=64)
    assert server.run(script=1).status_code == 400
    r = server.client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = parse_metrics(r.text)
    for outcome in ("ok", "error", "timeout", "oom", "rejected"):
        delta = metric(after, "coderunner_jobs_total", outcome=outcome, tenant="") - \
            metric(before, "coderunner_jobs_total", outcome=outcome, tenant="")
        assert delta == 1, outcome
    assert metric(after, "coderunner_http_responses_total", code="200") >= 4
    assert metric(after, "coderunner_job_duration_seconds_count") >= 4
    assert metric(after, "coderunner_job_duration_seconds_bucket", le="+Inf") == \
        metric(after, "coderunner_job_duration_seconds_count")
    assert metric(after, "coderunner_sandbox_setup_seconds_count") >= 4
    assert metric(after, "coderunner_queue_wait_seconds_count") >= 4
    assert metric(after, "coderunner_jobs_running") == 0
    assert metric(after, "coderunner_queue_depth") == 0
    assert metric(after, "process_resident_memory_bytes") > 1 << 20
    assert metric(after, "process_open_fds") > 3


def test_audit_line_per_request_without_contents(server):
    marker = "SECRET-MARKER-7f3a"
    script = f"print('{marker}')"
    r = server.client.post("/api/run", json={"script": script, "context": {"c.txt": marker}},
                           headers={"X-Request-Id": "audit-test-1"})
    assert r.headers["x-request-id"] == "audit-test-1"
    assert r.json()["request_id"] == "audit-test-1"
    assert wait_until(lambda: any(l.get("request_id") == "audit-test-1" for l in server.log_lines()))
    line = next(l for l in server.log_lines() if l.get("request_id") == "audit-test-1")
    assert line["event"] == "request" and line["status"] == 200 and line["exit_code"] == 0
    assert line["method"] == "POST" and line["path"] == "/api/run" and line["client"] == "127.0.0.1"
    assert line["code_sha256"] == hashlib.sha256(b"main.py\0" + script.encode()).hexdigest()[:16]
    assert line["context_bytes"] == len(marker) and line["limits"]["timeout_s"] == 60
    for key in ("ts", "duration_ms", "queue_ms", "total_ms", "request_bytes", "response_bytes"):
        assert key in line
    assert marker not in server.log_text()


def test_invalid_request_ids_are_replaced(server):
    r = server.client.post("/api/run", json={"script": "1"}, headers={"X-Request-Id": "bad id!"})
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) and r.json()["request_id"] == rid
    r = server.run(script=5)  # errors carry it too
    assert r.json()["request_id"] == r.headers["x-request-id"]


def _background(s, script, results, **kw):
    def go():
        results.append(s.client.post("/api/run", json={"script": script, **kw}, timeout=60))
    t = threading.Thread(target=go)
    t.start()
    return t


def test_overload_gets_429_with_retry_after():
    s = Server("--max-jobs", "1", "--max-queue", "1", "--retry-after", "3")
    try:
        results = []
        t1 = _background(s, "import time; time.sleep(2)", results)
        time.sleep(0.5)
        t2 = _background(s, "print('queued')", results)
        time.sleep(0.5)
        r = s.run(script="print('third')")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "3"
        assert "busy" in r.json()["error"]
        t1.join()
        t2.join()
        assert sorted(x.status_code for x in results) == [200, 200]
    finally:
        s.stop()


def test_queue_wait_limit_gives_429():
    s = Server("--max-jobs", "1", "--max-queue-wait", "0.5")
    try:
        results = []
        t = _background(s, "import time; time.sleep(2)", results)
        time.sleep(0.3)
        r = s.run(script="print(1)")
        assert r.status_code == 429 and "within 0.5 s" in r.json()["error"]
        t.join()
    finally:
        s.stop()


def test_waiting_request_whose_client_left_is_dropped():
    s = Server("--max-jobs", "1")
    try:
        results = []
        t = _background(s, "import time; time.sleep(2)", results)
        time.sleep(0.3)
        with pytest.raises(httpx.ReadTimeout):
            s.client.post("/api/run", json={"script": "print('never')"},
                          headers={"X-Request-Id": "gone-1"}, timeout=0.5)
        t.join()
        assert wait_until(lambda: any(l.get("request_id") == "gone-1" for l in s.log_lines()))
        line = next(l for l in s.log_lines() if l.get("request_id") == "gone-1")
        assert line["status"] == 499 and "exit_code" not in line
    finally:
        s.stop()


@pytest.fixture
def keys_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# key tenant\nalpha-key-0123456789 alpha\nbeta-key-01234567890 beta\n")
    return path


def test_api_keys_and_tenants(keys_file):
    s = Server("--api-keys-file", str(keys_file), "--tenant-max-jobs", "1")
    try:
        r = s.run(script="print(1)")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = s.client.post("/api/run", json={"script": "print(1)"},
                          headers={"Authorization": "Bearer wrong-key-0123456789"})
        assert r.status_code == 401
        alpha = {"Authorization": "Bearer alpha-key-0123456789"}
        beta = {"Authorization": "Bearer beta-key-01234567890"}
        r = s.client.post("/api/run", json={"script": "print(1)"}, headers=alpha)
        assert r.status_code == 200 and r.json()["stdout"] == "1\n"
        # per-tenant limit: alpha's second concurrent request is refused, beta runs
        results = []
        t = threading.Thread(target=lambda: results.append(s.client.post(
            "/api/run", json={"script": "import time; time.sleep(2)"}, headers=alpha)))
        t.start()
        time.sleep(0.5)
        r = s.client.post("/api/run", json={"script": "print(2)"}, headers=alpha)
        assert r.status_code == 429 and "tenant alpha" in r.json()["error"]
        r = s.client.post("/api/run", json={"script": "print(3)"}, headers=beta)
        assert r.status_code == 200
        t.join()
        assert results[0].status_code == 200
        lines = [l for l in s.log_lines() if l.get("event") == "request"]
        assert {"alpha", "beta"} <= {l.get("tenant") for l in lines}
        assert "alpha-key" not in s.log_text()
        m = parse_metrics(s.client.get("/metrics").text)
        assert metric(m, "coderunner_jobs_total", outcome="ok", tenant="alpha") == 2
        # SIGHUP reloads the keys: a new key works, a removed one stops working
        keys_file.write_text("gamma-key-0123456789 gamma\n")
        s.proc.send_signal(signal.SIGHUP)
        gamma = {"Authorization": "Bearer gamma-key-0123456789"}
        assert wait_until(lambda: s.client.post("/api/run", json={"script": "1"},
                                                headers=gamma).status_code == 200)
        assert s.client.post("/api/run", json={"script": "1"}, headers=alpha).status_code == 401
    finally:
        s.stop()


def test_non_loopback_without_keys_is_refused():
    r = subprocess.run([BIN, "serve", "--listen", "0.0.0.0:0", "--rootfs", ROOTFS],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--allow-unauthenticated" in r.stderr


def test_graceful_shutdown_lets_running_jobs_finish():
    s = Server()
    pid = s.proc.pid
    results = []
    t = _background(s, "import time; time.sleep(2); print('finished')", results)
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: s.client.get("/readyz").status_code == 503, timeout=5)
    assert "draining" in s.client.get("/readyz").text
    r = s.run(script="print('late')")
    assert r.status_code == 503 and "retry-after" in r.headers
    t.join()
    assert results[0].status_code == 200 and results[0].json()["stdout"] == "finished\n"
    assert s.proc.wait(timeout=30) == 0
    assert cgroup_dirs(f"coderunner-{pid}") == []
    assert job_processes() == []
    s.stop()


def test_shutdown_grace_expiry_kills_jobs():
    s = Server("--shutdown-grace", "1")
    results = []
    t = _background(s, "import time; print('started', flush=True); time.sleep(60)", results)
    time.sleep(0.7)
    start = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    t.join()
    assert results[0].status_code == 200
    assert results[0].json()["exit_code"] == 137 and results[0].json()["stdout"] == "started\n"
    assert s.proc.wait(timeout=30) == 0
    assert time.monotonic() - start < 20
    assert job_processes() == []
    s.stop()


def test_doctor_json():
    r = subprocess.run([BIN, "doctor", "--json", "--rootfs", ROOTFS], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    d = json.loads(r.stdout)
    assert d["ready"] is True and d["problems"] == []
    assert d["user_namespaces"] is True and d["seccomp"] is True
    assert d["cgroups"]["controllers"]["memory"]["usable"] is True
    assert d["rootfs"]["python"].startswith("3.13") and d["disk"]["free_bytes"] > 0
    r = subprocess.run([BIN, "doctor", "--json", "--rootfs", "/nonexistent"], capture_output=True, text=True)
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["ready"] is False and any("make rootfs" in p["fix"] for p in d["problems"])
