"""Resource limits through cgroups, as a job and its caller see them: memory
(OOM -> 137), CPU quota, pids, usage, and clean-up of every job cgroup.
Runs on the host (cgroup v1 here) and, by `make test-cgroup2`, in a QEMU
guest with pure cgroup v2."""
import os
import signal
import subprocess
import time

import pytest

from conftest import (Server, cgroup_dirs, idle_warm_job_ids, remove_test_cgroup, wait_until,
                      warm_pool_full)

# The guest emulates the CPU in software (~15x slower): scale waits.
SLOW = float(os.environ.get("CODERUNNER_TEST_SLOWDOWN", "1"))


def test_limits_are_enforced_and_reported(server):
    res = server.ok("print('hi')")
    assert res["limits"] == {"enforced": True, "memory_mb": 1536, "cpus": 1, "pids": 256}
    assert res["oom_killed"] is False
    # a warm job is billed from its start only: printing may round to 0 ms
    assert res["usage"]["cpu_ms"] > 0 or (res["usage"]["warm_start"] and res["usage"]["cpu_ms"] == 0)
    assert res["usage"]["peak_memory_bytes"] > 1 << 20


def test_oom_kill_reports_137_and_keeps_output(server):
    res = server.ok("print('start', flush=True)\nx = bytearray(500 * 1024 * 1024)\nprint('survived')",
                    memory_mb=100, timeout_s=60 * SLOW)
    assert res["exit_code"] == 137
    assert res["oom_killed"] is True
    assert res["stdout"] == "start\n"
    assert "out of memory" in res["stderr"]
    assert res["usage"]["peak_memory_bytes"] <= 100 * 1024 * 1024
    # the server answers the next job normally
    nxt = server.ok("print(sum(range(10)))")
    assert (nxt["exit_code"], nxt["stdout"], nxt["oom_killed"]) == (0, "45\n", False)


def test_self_sigkill_is_137_without_oom(server):
    res = server.ok("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert res["exit_code"] == 137
    assert res["oom_killed"] is False


def test_peak_memory_reflects_allocation(server):
    res = server.ok("x = bytearray(200 * 1024 * 1024)\nprint(len(x))", timeout_s=60 * SLOW)
    assert res["exit_code"] == 0
    assert res["usage"]["peak_memory_bytes"] >= 200 * 1024 * 1024


@pytest.mark.parametrize("where", ["/workspace/fill", "/tmp/fill", "/dev/shm/fill"])
def test_tmpfs_writes_count_against_memory(server, where):
    script = (
        "import sys\nwritten = 0\n"
        f"f = open('{where}', 'wb')\n"
        "try:\n"
        "    for _ in range(400):\n"
        "        f.write(b'x' * (1 << 20)); f.flush(); written += 1\n"
        "except OSError as e:\n"
        "    print('stopped', written, e.errno, flush=True)\n"
        "print('wrote', written, flush=True)\n")
    res = server.ok(script, memory_mb=100, timeout_s=60 * SLOW)
    # Either the OOM killer ended it, or writing failed well before 400 MiB.
    if res["exit_code"] == 137:
        assert res["oom_killed"] is True
    else:
        wrote = int(res["stdout"].split("wrote ")[1].split()[0])
        assert wrote < 150, res
    assert server.ok("print('ok')")["stdout"] == "ok\n"


def test_fork_bomb_is_contained_by_pids(server):
    script = (
        "import os, time\nn = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(100)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError as e:\n"
        "    print('blocked', n, e.errno, flush=True)\n")
    res = server.ok(script, timeout_s=60 * SLOW)
    assert res["stdout"].startswith("blocked"), res
    forks = int(res["stdout"].split()[1])
    assert 100 < forks < 256
    assert server.ok("print('alive')")["stdout"] == "alive\n"


def _cpu_share(server, cpus):
    res = server.ok("import time\nend = time.monotonic() + 3\nwhile time.monotonic() < end:\n    pass",
                    cpus=cpus, timeout_s=60 * SLOW)
    assert res["exit_code"] == 0, res
    return res["usage"]["cpu_ms"] / res["duration_ms"]


def test_cpu_quota_half_a_core(server):
    share = _cpu_share(server, 0.5)
    assert 0.3 < share < 0.7, share


def test_cpu_quota_one_core_gets_more(server):
    share = _cpu_share(server, 1)
    assert share > 0.75, share


@pytest.mark.parametrize("body,text", [
    ({"memory_mb": 0}, "memory_mb"),
    ({"memory_mb": 1_000_000}, "memory_mb"),
    ({"memory_mb": 64.5}, "memory_mb"),
    ({"memory_mb": "64"}, "memory_mb"),
    ({"cpus": 0}, "cpus"),
    ({"cpus": 1000}, "cpus"),
    ({"cpus": "1"}, "cpus"),
])
def test_out_of_range_limits_are_400(server, body, text):
    r = server.run(script="print(1)", **body)
    assert r.status_code == 400
    assert text in r.json()["error"]


def test_job_cgroups_removed_after_jobs_and_at_shutdown():
    s = Server()
    pid = s.proc.pid
    try:
        for _ in range(3):
            s.ok("print(1)")
        dirs = cgroup_dirs(f"coderunner-{pid}")
        assert dirs, "the instance cgroup should exist while serving"

        def job_cgroups():  # the warm pool's idle sandboxes aside
            idle = idle_warm_job_ids(pid)
            return [sub for d in dirs for sub in os.listdir(d)
                    if sub.startswith("job-") and sub[4:] not in idle]
        assert wait_until(lambda: job_cgroups() == [], timeout=10 * SLOW), job_cgroups()
    finally:
        s.stop()
    assert cgroup_dirs(f"coderunner-{pid}") == []


def test_cgroups_of_a_crashed_instance_are_removed_at_start():
    crashed = Server()
    pid = crashed.proc.pid
    import threading

    def long_job():
        try:
            crashed.run(script="import time\ntime.sleep(100)")
        except Exception:  # the server is killed mid-request, on purpose
            pass

    t = threading.Thread(target=long_job)
    t.start()
    assert wait_until(lambda: any(sub.startswith("job-") for d in cgroup_dirs(f"coderunner-{pid}")
                                  for sub in os.listdir(d)), timeout=30 * SLOW)
    crashed.proc.send_signal(signal.SIGKILL)
    crashed.proc.wait()
    t.join()
    crashed.client.close()
    assert cgroup_dirs(f"coderunner-{pid}"), "a killed server leaves its cgroups"
    fresh = Server(cgroup_of=pid)  # the same cgroup, as after a container restart
    try:
        assert wait_until(lambda: cgroup_dirs(f"coderunner-{pid}") == [], timeout=10 * SLOW)
        assert fresh.ok("print('fresh')")["stdout"] == "fresh\n"
    finally:
        fresh.stop()
        remove_test_cgroup(pid)


def test_doctor_reports_enforced_limits():
    from conftest import BIN, ROOTFS
    r = subprocess.run([BIN, "doctor", "--rootfs", ROOTFS], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert "memory   usable" in r.stdout
    assert "verdict:          ready" in r.stdout


@pytest.fixture(scope="module")
def warm_server():
    """A server whose jobs start warm (on both cgroup versions: the pool
    creates its cgroups idle and retunes them when a job takes one)."""
    # json only: what is tested is the sandbox's cgroup, and a 100 MiB job
    # must fit beside what the sandbox holds (numpy and pandas would not)
    s = Server("--warm-pool", "1", "--prepared-sandboxes", "0", "--warm-preload", "json")
    yield s
    s.stop()


def warm_job(server, script, **extra):
    assert warm_pool_full(server, timeout=120 * SLOW)
    res = server.ok(script, timeout_s=60 * SLOW, **extra)
    assert res["usage"]["warm_start"] is True, res
    return res


def test_warm_sandbox_oom_is_137(warm_server):
    res = warm_job(warm_server, "print('start', flush=True)\nx = bytearray(500 << 20)",
                   memory_mb=100)
    assert (res["exit_code"], res["oom_killed"], res["stdout"]) == (137, True, "start\n"), res
    assert res["limits"]["memory_mb"] == 100


def test_warm_sandbox_cpu_quota_and_pids(warm_server):
    res = warm_job(warm_server, "import time\nend = time.monotonic() + 3\n"
                   "while time.monotonic() < end:\n    pass", cpus=0.5)
    assert 0.3 < res["usage"]["cpu_ms"] / res["duration_ms"] < 0.7, res
    res = warm_job(warm_server, "import os\nn = 0\ntry:\n    while True:\n"
                   "        if os.fork() == 0:\n            import time; time.sleep(100)\n"
                   "        n += 1\nexcept OSError as e:\n    print('blocked', n)\n")
    assert res["stdout"].startswith("blocked"), res
    assert int(res["stdout"].split()[1]) < 256
