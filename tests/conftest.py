"""Integration fixtures: a real `coderunner serve` on a free loopback port
with the real rootfs, and helpers to call it and inspect what it left behind."""
import os
import re
import json
import signal
import subprocess
import tempfile
import time

import httpx
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.abspath(os.environ.get("CODERUNNER_BIN", os.path.join(ROOT, "build", "coderunner")))
ROOTFS = os.path.abspath(os.environ.get("CODERUNNER_ROOTFS", os.path.join(ROOT, "build", "rootfs")))
UID_BASE = 1_500_000_000  # distinct from the default, so the tests can find their own jobs
# Sandbox pools: the suites run once with the server's defaults (warm and
# prepared sandboxes) and once with both off (a new sandbox per job); see
# the Makefile.
WARM_POOL = os.environ.get("CODERUNNER_TEST_WARM_POOL")
PREPARED = os.environ.get("CODERUNNER_TEST_PREPARED_SANDBOXES")


def own_cgroup_v2(name=None):
    """On a pure cgroup v2 host (the QEMU guest), give each server a cgroup of
    its own, as a container runtime or systemd would: v2 can only delegate
    controllers from a cgroup whose processes are all the server's. A name
    reuses an earlier server's cgroup, as a restarted container would."""
    if os.path.exists("/sys/fs/cgroup/cgroup.subtree_control") and \
            os.environ.get("CODERUNNER_TEST_OWN_CGROUP") == "1":
        path = f"/sys/fs/cgroup/{name or f'coderunner-test-{os.getpid()}'}"
        os.makedirs(path, exist_ok=True)
        with open(f"{path}/cgroup.subtree_control") as f:
            if f.read().strip():  # delegated already: only its leaf takes processes
                path += "/supervisor"
        with open(f"{path}/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))


def remove_test_cgroup(pid):
    """Removes the cgroup own_cgroup_v2 made for a server that has exited."""
    path = f"/sys/fs/cgroup/coderunner-test-{pid}"
    if not os.path.isdir(path):
        return
    for sub in os.listdir(path):
        if os.path.isdir(os.path.join(path, sub)):
            os.rmdir(os.path.join(path, sub))
    os.rmdir(path)


class Server:
    """A running server process and a client bound to it."""

    def __init__(self, *extra_args, cgroup_of=None, deps=False):
        # The server logs one audit line per request: to a file, never to a
        # pipe nobody reads (a full pipe would block the server).
        self.log = tempfile.NamedTemporaryFile(prefix="coderunner-test-", suffix=".log")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--rootfs", ROOTFS,
             "--uid-base", str(UID_BASE),
             # never reach out to PyPI: dependency tests pass their own index
             *([] if deps else ["--deps-cache-dir", ""]),
             *(["--warm-pool", WARM_POOL] if WARM_POOL and "--warm-pool" not in extra_args
               else []),
             *(["--prepared-sandboxes", PREPARED]
               if PREPARED and "--prepared-sandboxes" not in extra_args else []),
             *extra_args],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            preexec_fn=lambda: own_cgroup_v2(cgroup_of and f"coderunner-test-{cgroup_of}"))
        self.cgroup_name = cgroup_of or self.proc.pid
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://[0-9.]+:\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"server did not start: {line!r} {self.log_text()!r}")
        self.url = m.group(1)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def run(self, **body):
        return self.client.post("/api/run", json=body)

    def ok(self, script, **extra):
        """Runs a script and returns the JSON result, asserting HTTP 200."""
        r = self.run(script=script, **extra)
        assert r.status_code == 200, r.text
        return r.json()

    def log_text(self):
        """Everything the server has logged so far."""
        with open(self.log.name) as f:
            return f.read()

    def log_lines(self):
        """The server's log as parsed JSON lines (non-JSON lines skipped)."""
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def ok_client_reset(self):
        """Drops kept-alive connections so the server's fd count settles."""
        self.client.close()
        self.client = httpx.Client(base_url=self.url, timeout=120)
        time.sleep(0.3)

    def stop(self):
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.cgroup_name == self.proc.pid:
            remove_test_cgroup(self.proc.pid)
        self.log.close()


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


def idle_warm_sandbox(pid):
    """True for a process of a warm sandbox no job has taken yet: those sit
    in a cgroup at the kernel's lowest CPU weight until a job arrives."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if ctrls == "" and os.path.exists("/sys/fs/cgroup/cgroup.subtree_control"):
            candidates = [(f"/sys/fs/cgroup{path}/cpu.weight", "1")]
        elif "cpu" in ctrls.split(","):
            candidates = [(f"/sys/fs/cgroup/{d}{path}/cpu.shares", "2")
                          for d in (ctrls, "cpu", "cpu,cpuacct")]
        else:
            continue
        for file, idle in candidates:
            try:
                with open(file) as f:
                    return f.read().strip() == idle
            except OSError:
                pass
    return False


def job_processes():
    """Host processes running under a job uid range (there should be none
    once every job has answered), idle warm sandboxes aside."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) >= UID_BASE and not idle_warm_sandbox(pid):
                            found.append(int(pid))
                        break
        except OSError:
            pass
    return found


def warm_pool_full(server, timeout=60.0):
    """Waits until the server's sandbox pools (warm, and prepared for cold
    jobs) are back to their target sizes, every sandbox ready; True at once
    when both are off."""
    def full():
        text = server.client.get("/metrics").text
        targets = dict(re.findall(r'^coderunner_pool_target\{pool="(\w+)"\} (\d+)$', text, re.M))
        ready = dict(re.findall(r'^coderunner_pool_ready\{pool="(\w+)"\} (\d+)$', text, re.M))
        return targets == ready
    return wait_until(full, timeout=timeout)


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def cgroup_dirs(name_prefix):
    """Every cgroup directory (any hierarchy) whose name starts with
    name_prefix, e.g. "coderunner-1234"."""
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if d.startswith(name_prefix):
                found.append(os.path.join(top, d))
        if top.count("/") > 8:
            dirs[:] = []
    return found


def idle_warm_job_ids(server_pid):
    """Job ids (workspace and cgroup names) of a server's idle warm
    sandboxes: their job cgroups carry the kernel's lowest CPU weight."""
    ids = set()
    for d in cgroup_dirs(f"coderunner-{server_pid}"):
        for sub in os.listdir(d):
            for file, idle in (("cpu.shares", "2"), ("cpu.weight", "1")):
                try:
                    with open(os.path.join(d, sub, file)) as f:
                        if sub.startswith("job-") and f.read().strip() == idle:
                            ids.add(sub[4:])
                except OSError:
                    pass
    return ids


def server_children(pid):
    """Processes whose parent is pid, idle warm sandboxes aside."""
    kids = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid and \
                        not idle_warm_sandbox(p):
                    kids.append(int(p))
        except OSError:
            pass
    return kids


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def leak_snapshot(server):
    """What a server holds between jobs: it must be the same before and after
    any job, whatever the job did. With warm starts on, it is taken with the
    pool full, and job ids are masked: the pool's sandboxes are replaced by
    new ones (same count, new ids) after every job."""
    pid = server.proc.pid
    warm_pool_full(server, timeout=2.0)
    def mask(path):
        return re.sub(r"(/jobs/|job-)\d+", r"\1N", path)
    with open(f"/proc/{pid}/mountinfo") as f:
        mounts = sorted(mask(line.split()[4]) for line in f)
    jobs_dir = f"/proc/{pid}/root/run/coderunner/jobs"
    job_cgroups = sorted(mask(os.path.join(d, sub)) for d in cgroup_dirs(f"coderunner-{pid}")
                         for sub in os.listdir(d) if sub.startswith("job-"))
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "mounts": mounts,
        "workspaces": len(os.listdir(jobs_dir)),
        "children": server_children(pid),
        "job_processes": job_processes(),
        "job_cgroups": job_cgroups,
    }
