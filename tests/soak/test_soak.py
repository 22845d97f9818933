"""Soak: thousands of mixed jobs at concurrency 16 against one server. No
response may be lost or malformed, and afterwards nothing may have leaked
and the server's memory must be back near where it started.
SOAK_JOBS sets the count (`make soak`: 2000; `make test`: 300)."""
import concurrent.futures
import os
import random

from conftest import Server, leak_snapshot, rss_kib, wait_until

JOBS = int(os.environ.get("SOAK_JOBS", "300"))
CONCURRENCY = 16

# (script, extra fields, check on the result)
KINDS = [
    ("print(sum(range({n})))", {}, lambda r, n: r["exit_code"] == 0 and r["stdout"] == f"{sum(range(n))}\n"),
    ("import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)", {},
     lambda r, n: r["exit_code"] == 3 and r["stderr"] == "bad\n"),
    ("raise RuntimeError('x{n}')", {}, lambda r, n: r["exit_code"] == 1 and f"x{n}" in r["stderr"]),
    ("import time\ntime.sleep(5)", {"timeout_s": 0.3}, lambda r, n: r["exit_code"] == 124),
    ("x = bytearray(300 << 20)", {"memory_mb": 64}, lambda r, n: r["exit_code"] == 137 and r["oom_killed"]),
    ("open('output/r{n}.txt', 'w').write('{n}')", {}, lambda r, n: r["artifacts"] == {f"r{n}.txt": str(n)}),
]
WEIGHTS = [50, 10, 10, 10, 10, 10]


def test_soak():
    server = Server("--max-jobs", "4")
    try:
        server.ok("print('warm')")
        server.ok_client_reset()
        before = leak_snapshot(server)
        rss_before = rss_kib(server.proc.pid)
        rng = random.Random(1234)
        plan = [(rng.choices(range(len(KINDS)), WEIGHTS)[0], i) for i in range(JOBS)]

        def one(item):
            kind, n = item
            script, extra, _ = KINDS[kind]
            r = server.run(script=script.format(n=n), **extra)
            return kind, n, r.status_code, r.json()

        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(one, plan))
        assert len(results) == JOBS
        failures = [(k, n, s, r) for k, n, s, r in results
                    if s != 200 or not KINDS[k][2](r, n)]
        assert failures == [], failures[:3]
        server.ok_client_reset()
        assert wait_until(lambda: leak_snapshot(server) == before, timeout=20), \
            (before, leak_snapshot(server))
        growth = rss_kib(server.proc.pid) - rss_before
        assert growth < 32 * 1024, f"server RSS grew by {growth} KiB"
    finally:
        server.stop()
