"""The two warm-start designs issue #7 asks to compare, measured on the
rootfs's own Python (by chroot, no sandbox, so only the design differs):

- fork: one template imports the preload list once; each job is a fork of
  it, so a job costs only its own work, but every job shares the template's
  address-space layout, hash seed and whatever else the template holds;
- pre-started (what CodeRunner does): each job gets a fresh interpreter that
  imported the preload list before the job arrived and serves it alone.

Prints, per design, the job's latency once handed over (median) and the CPU
each job costs in all (the template's imports are shared by all forks; a
pre-started interpreter pays its own), hence the sustained warm rate the
machine's cores allow. `python3 bench/warm_designs.py` (as root)."""
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOTFS = os.path.join(ROOT, "build", "rootfs")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
PRELOAD = "numpy,pandas,matplotlib.pyplot"
JOB = "import pandas as pd; pd.DataFrame({'a': range(1000)}).describe()"

# Runs inside the rootfs: both designs, JSON on stdout.
PROBE = r'''
import json, os, resource, sys, time
preload, job, runs = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])

def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000

# fork from a template
for name in preload:
    __import__(name)
fork_lat, fork_cpu = [], []
for _ in range(runs):
    c0, s0 = cpu_children(), time.perf_counter()
    self0 = sum(os.times()[:2]) * 1000
    pid = os.fork()
    if pid == 0:
        exec(job, {})
        os._exit(0)
    os.waitpid(pid, 0)
    fork_lat.append((time.perf_counter() - s0) * 1000)
    fork_cpu.append(cpu_children() - c0 + sum(os.times()[:2]) * 1000 - self0)

# pre-started one-shot interpreters
loader = ("import os, sys\n"
          "for n in sys.argv[1].split(','):\n    __import__(n)\n"
          "os.write(1, b'r'); os.read(0, 1)\n"
          "exec(sys.argv[2], {})\nos._exit(0)\n")
pre_lat, pre_cpu = [], []
for _ in range(runs):
    c0 = cpu_children()
    p = __import__("subprocess").Popen([sys.executable, "-c", loader, ",".join(preload), job],
                                       stdin=-1, stdout=-1)
    assert p.stdout.read(1) == b"r"
    s0 = time.perf_counter()
    p.stdin.write(b"g"); p.stdin.flush()
    p.wait()
    pre_lat.append((time.perf_counter() - s0) * 1000)
    pre_cpu.append(cpu_children() - c0)
print(json.dumps({"fork": [fork_lat, fork_cpu], "pre-started": [pre_lat, pre_cpu]}))
'''


def main():
    r = subprocess.run([shutil.which("chroot") or "/usr/sbin/chroot", ROOTFS, "/usr/bin/python3",
                        "-c", PROBE, PRELOAD, JOB, str(RUNS)],
                       capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
                            "OPENBLAS_NUM_THREADS": "1"})
    if r.returncode != 0:
        sys.exit(r.stderr)
    import json
    data = json.loads(r.stdout)
    cores = os.cpu_count() or 1
    print(f"warm-start designs, pandas describe() job, preload {PRELOAD}, {RUNS} runs:")
    for name, (lat, cpu) in data.items():
        per_job = statistics.median(cpu)
        print(f"  {name:<12} latency {statistics.median(lat):6.1f} ms   CPU per job "
              f"{per_job:6.1f} ms   sustained warm rate <= {cores * 1000 / per_job:6.1f} jobs/s "
              f"on {cores} cores")


if __name__ == "__main__":
    main()
