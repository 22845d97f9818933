"""Benchmark: the latency a dependency cache hit adds to a job, against the
same job without dependencies, measured interleaved in one run against one
server and a local index (tests/deps_index.py). Target: at most 5 ms.
Prints a table and writes build/bench-deps.json. Run by `make bench`."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import httpx  # noqa: E402
from deps_index import Index, default_projects  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "40"))


def main():
    index = Index(default_projects())
    cache = tempfile.mkdtemp(prefix="coderunner-bench-deps-")
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [os.path.join(ROOT, "build", "coderunner"), "serve", "--listen", "127.0.0.1:0",
         "--rootfs", os.path.join(ROOT, "build", "rootfs"), "--pip-index-url", index.url,
         "--deps-cache-dir", cache], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        url = server.stdout.readline().split("http://")[1].split()[0]
        client = httpx.Client(base_url=f"http://{url}", timeout=120)
        script = "print(2+2)"
        plain = {"script": script}
        with_deps = {"script": script, "dependencies": ["cr-alpha"]}
        for body in (plain, with_deps, plain, with_deps):  # warm up, fill the cache
            assert client.post("/api/run", json=body).status_code == 200
        times = {"plain": [], "cache_hit": []}
        for _ in range(RUNS):
            for name, body in (("plain", plain), ("cache_hit", with_deps)):
                start = time.perf_counter()
                r = client.post("/api/run", json=body)
                times[name].append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and r.json()["stdout"] == "4\n"
        med = {k: statistics.median(v) for k, v in times.items()}
        p90 = {k: sorted(v)[int(len(v) * 0.9) - 1] for k, v in times.items()}
        added = med["cache_hit"] - med["plain"]
        print(f"{'job':<28}{'median ms':>12}{'p90 ms':>10}{'ratio':>8}")
        for k in ("plain", "cache_hit"):
            print(f"{'print(2+2) ' + ('with cached deps' if k == 'cache_hit' else 'no deps'):<28}"
                  f"{med[k]:>12.1f}{p90[k]:>10.1f}{med[k] / med['plain']:>8.2f}")
        verdict = "ok" if added <= 5 else "OVER TARGET"
        print(f"added by a cache hit: {added:.1f} ms (target <= 5 ms: {verdict})")
        os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
        with open(os.path.join(ROOT, "build", "bench-deps.json"), "w") as f:
            json.dump({"runs": RUNS, "median_ms": med, "p90_ms": p90, "added_ms": added}, f, indent=1)
    finally:
        server.terminate()
        server.wait()
        index.close()
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
