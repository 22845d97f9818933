"""Benchmark harness: what a job costs under each way of running it, measured
side by side, interleaved, in one run. The floor is the rootfs's Python run
by plain chroot (no isolation); bubblewrap with comparable isolation is the
best-known alternative; then `coderunner run` (one process per job, no HTTP)
and `coderunner serve` over HTTP (a keep-alive connection). Also: throughput
of print(2+2) at concurrency 1, 4 and 16, and the server's RSS idle and under
load. Prints a table of medians, p90 and p99 with the ratio to the floor, and
writes build/bench.json. `make bench` runs it; BENCH_RUNS sets the rounds."""
import concurrent.futures
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "coderunner")
ROOTFS = os.path.join(ROOT, "build", "rootfs")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))

WORKLOADS = {
    "print(2+2)": "print(2+2)",
    "import numpy": "import numpy",
    "pandas describe": "import pandas as pd; print(pd.DataFrame({'a': range(1000)}).describe())",
    "matplotlib PNG": "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
                      "plt.plot([1, 2, 3]); plt.savefig('/tmp/p.png')",
}


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run_chroot(code):
    subprocess.run([shutil.which("chroot") or "/usr/sbin/chroot", ROOTFS, "/usr/bin/python3", "-c", code], check=True,
                   capture_output=True, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                                             "MPLCONFIGDIR": "/tmp"})


def run_bwrap(code):
    subprocess.run(["bwrap", "--ro-bind", ROOTFS, "/", "--proc", "/proc", "--dev", "/dev",
                    "--tmpfs", "/tmp", "--unshare-all", "--die-with-parent", "--new-session",
                    "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "MPLCONFIGDIR",
                    "/tmp", "/usr/bin/python3", "-c", code], check=True, capture_output=True)


def run_cli(code, scratch):
    path = os.path.join(scratch, "job.py")
    with open(path, "w") as f:
        f.write(code)
    r = subprocess.run([BIN, "run", "--rootfs", ROOTFS, path],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["exit_code"] == 0, r.stdout + r.stderr


class Http:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def run(self, body):
        self.conn.request("POST", "/api/run", json.dumps(body), {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = json.loads(r.read())
        assert r.status == 200 and data["exit_code"] == 0, data
        return data


def stats(samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"median": statistics.median(s), "p90": pick(0.9), "p99": pick(0.99), "n": len(s)}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def main():
    have_bwrap = shutil.which("bwrap") is not None
    scratch = tempfile.mkdtemp(prefix="coderunner-bench-")
    server = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--rootfs", ROOTFS,
                               "--deps-cache-dir", "", "--max-jobs", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline().split("http://")[1].split()[0].rsplit(":", 1)[1])
        client = Http(port)
        idle_rss = rss_kib(server.pid)
        modes = {"chroot (floor)": run_chroot}
        if have_bwrap:
            modes["bubblewrap"] = run_bwrap
        modes["coderunner run"] = lambda code: run_cli(code, scratch)
        modes["coderunner serve (HTTP)"] = lambda code: client.run({"script": code})
        results = {w: {m: [] for m in modes} for w in WORKLOADS}
        for w, code in WORKLOADS.items():  # warm the page cache once
            for fn in modes.values():
                fn(code)
        for _ in range(RUNS):  # interleaved: every mode sees the same machine state
            for w, code in WORKLOADS.items():
                for m, fn in modes.items():
                    results[w][m].append(timed(lambda: fn(code)))
        ctx = {f"in{i}.bin": {"content": "A" * (350 * 1024), "encoding": "base64"} for i in range(4)}
        io_body = {"script": "import shutil, os\nfor f in os.listdir('input'):\n"
                             "    shutil.copy('input/' + f, 'output/' + f)", "context": ctx}
        results["1 MiB in + 1 MiB out"] = {"coderunner serve (HTTP)": [
            timed(lambda: client.run(io_body)) for _ in range(RUNS)]}
        throughput = {}
        peak_rss = idle_rss
        for conc in (1, 4, 16):
            local = threading.local()  # one keep-alive connection per client thread

            def one(_):
                if not hasattr(local, "client"):
                    local.client = Http(port)
                local.client.run({"script": "print(2+2)"})

            jobs = max(40, 10 * conc)
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(conc) as pool:
                list(pool.map(one, range(jobs)))
                peak_rss = max(peak_rss, rss_kib(server.pid))
            throughput[conc] = jobs / (time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)

    table = {w: {m: stats(v) for m, v in per.items()} for w, per in results.items()}
    print(f"{'workload':<22}{'mode':<26}{'median ms':>10}{'p90':>8}{'p99':>8}{'x floor':>9}")
    for w, per in table.items():
        floor = per.get("chroot (floor)", {}).get("median")
        for m, s in per.items():
            ratio = f"{s['median'] / floor:.2f}" if floor else "-"
            print(f"{w:<22}{m:<26}{s['median']:>10.1f}{s['p90']:>8.1f}{s['p99']:>8.1f}{ratio:>9}")
    for conc, jps in throughput.items():
        print(f"throughput print(2+2), concurrency {conc:>2}: {jps:6.1f} jobs/s")
    print(f"server RSS: idle {idle_rss / 1024:.1f} MiB, under load {peak_rss / 1024:.1f} MiB")
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench.json"), "w") as f:
        json.dump({"runs": RUNS, "latency_ms": table, "throughput_jobs_per_s": throughput,
                   "server_rss_kib": {"idle": idle_rss, "load": peak_rss}}, f, indent=1)


if __name__ == "__main__":
    main()
