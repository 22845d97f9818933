"""Warm starts: jobs served by pre-started sandboxes with numpy, pandas and
matplotlib already imported. They must behave exactly as cold jobs do (the
whole suite also runs with CODERUNNER_TEST_WARM_POOL=0), keep nothing from
one job to the next, honour every limit, and fall back to cold, never fail."""
import os
import re
import signal
import subprocess

import pytest

from conftest import BIN, ROOTFS, Server, idle_warm_job_ids, warm_pool_full, wait_until

PANDAS_JOB = ("import pandas as pd\n"
              "print(pd.DataFrame({'a': range(1000)}).describe().loc['mean', 'a'])\n")


def metrics(server):
    return server.client.get("/metrics").text


def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + want + '}') if labels else ''} (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


@pytest.fixture(scope="module")
def warm():
    s = Server("--warm-pool", "2")
    assert warm_pool_full(s), metrics(s)
    yield s
    s.stop()


def warm_ok(server, script, **extra):
    """Runs a job once the pool is full, so it is served warm."""
    assert warm_pool_full(server), metrics(server)
    res = server.ok(script, **extra)
    assert res["usage"]["warm_start"] is True, res
    return res


def test_pandas_job_runs_warm_with_modules_already_imported(warm):
    before = metric(metrics(warm), "coderunner_pool_jobs_total", pool="warm")
    res = warm_ok(warm, PANDAS_JOB + "import sys; print('matplotlib.pyplot' in sys.modules)")
    assert (res["exit_code"], res["stdout"], res["stderr"]) == (0, "499.5\nTrue\n", "")
    after = metric(metrics(warm), "coderunner_pool_jobs_total", pool="warm")
    assert after == before + 1


def test_warm_job_sees_what_a_cold_job_sees(warm):
    script = ("import os, sys\n"
              "print(sys.argv, __name__, __file__, sys.path[0], os.getcwd())\n"
              "print(os.getuid(), os.environ['OMP_NUM_THREADS'], os.environ['MPLBACKEND'])\n"
              "print(sorted(os.listdir('/tmp')), os.listdir('output'))\n")
    res = warm_ok(warm, script, cpus=2)
    assert res["stdout"] == ("['main.py'] __main__ /workspace/main.py /workspace /workspace\n"
                             "1000 2 Agg\n"
                             "['.matplotlib'] []\n"), res


def test_no_state_carries_over_between_warm_jobs(warm):
    script = ("import random, numpy, os, sys, pandas\n"
              "print(random.random(), numpy.random.rand(), hash('abc'), os.getpid())\n"
              "print(getattr(pandas, 'planted', None), os.listdir('/tmp'))\n"
              "pandas.planted = 'secret'\n"
              "open('/tmp/planted', 'w').write('secret')\n")
    first = warm_ok(warm, script)
    second = warm_ok(warm, script)
    a, b = first["stdout"].splitlines(), second["stdout"].splitlines()
    assert a[0].split()[:3] != b[0].split()[:3], (a, b)
    for run in (a, b):
        randoms = run[0].split()
        assert len(set(randoms[:3])) == 3
    assert a[1] == b[1] == "None ['.matplotlib']", (a, b)


def test_exit_paths_match_a_cold_interpreter(warm):
    cases = [
        ("import sys; sys.exit(3)", 3, ""),
        ("import sys; sys.exit('bye')", 1, "bye\n"),
        ("raise SystemExit", 0, ""),
        ("import os; os._exit(7)", 7, ""),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 137, ""),
    ]
    for script, code, stderr in cases:
        res = warm_ok(warm, script)
        assert (res["exit_code"], res["stderr"]) == (code, stderr), (script, res)
    res = warm_ok(warm, "def f():\n    1/0\nf()\n")
    assert res["exit_code"] == 1
    assert res["stderr"].startswith('Traceback (most recent call last):\n'
                                    '  File "/workspace/main.py", line 3, in <module>'), res
    assert "warm_start" not in res["stderr"]
    res = warm_ok(warm, "print(1")
    assert res["exit_code"] == 1 and "SyntaxError" in res["stderr"]
    assert "Traceback" not in res["stderr"]


def test_threads_atexit_and_unclosed_files_finish_as_at_shutdown(warm):
    script = ("import atexit, threading, time\n"
              "atexit.register(lambda: print('atexit ran'))\n"
              "def late():\n"
              "    time.sleep(0.2)\n"
              "    print('thread finished')\n"
              "threading.Thread(target=late).start()\n"
              "f = open('output/unclosed.txt', 'w')\n"
              "f.write('flushed at exit')\n")
    res = warm_ok(warm, script)
    assert res["stdout"] == "thread finished\natexit ran\n", res
    assert res["artifacts"] == {"unclosed.txt": "flushed at exit"}


def test_a_forked_child_ending_does_not_end_the_job(warm):
    script = ("import os, time\n"
              "if os.fork() == 0:\n"
              "    print('child done', flush=True)\n"
              "    raise SystemExit(5)\n"
              "_, status = os.wait()\n"
              "time.sleep(0.3)\n"
              "print('parent done', os.waitstatus_to_exitcode(status))\n")
    res = warm_ok(warm, script)
    assert (res["exit_code"], res["stdout"]) == (0, "child done\nparent done 5\n"), res


def test_job_closing_its_streams_and_fd_5_still_ends_normally(warm):
    script = ("import os\nprint('before', flush=True)\n"
              "os.close(5) if os.path.exists('/proc/self/fd/5') else None\n"
              "f = open('output/five.txt', 'w')\n"
              "os.close(1)\nos.close(2)\nraise SystemExit(3)\n")
    res = warm_ok(warm, script)
    assert (res["exit_code"], res["stdout"]) == (3, "before\n"), res
    assert res["artifacts"] == {"five.txt": ""}


def test_limits_hold_in_warm_sandboxes(warm):
    res = warm_ok(warm, "x = bytearray(400 << 20); x[::4096] = b'x' * len(x[::4096])",
                  memory_mb=256)
    assert (res["exit_code"], res["oom_killed"]) == (137, True), res
    assert res["limits"]["memory_mb"] == 256
    res = warm_ok(warm, "while True: pass", timeout_s=1)
    assert (res["exit_code"], res["timed_out"]) == (124, True)
    res = warm_ok(warm, "import numpy\nsum(range(10**6))")
    assert 0 <= res["usage"]["cpu_ms"] < 2000, res  # the imports before the job are not billed


def test_memory_limit_below_a_warm_sandbox_runs_cold(warm):
    before = metric(metrics(warm), "coderunner_warm_misses_total", reason="memory")
    assert warm_pool_full(warm)
    res = warm.ok("print('small')", memory_mb=64)
    assert (res["exit_code"], res["stdout"], res["usage"]["warm_start"]) == (0, "small\n", False)
    after = metric(metrics(warm), "coderunner_warm_misses_total", reason="memory")
    assert after == before + 1


def test_killed_warm_sandbox_is_replaced_and_jobs_still_run(warm):
    assert warm_pool_full(warm)
    failures = metric(metrics(warm), "coderunner_pool_sandbox_failures_total", pool="warm")
    victims = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
               if _in_idle_warm_sandbox(warm, pid)]
    assert victims
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    res = warm.ok("print('still fine')")  # warm if refilled already, else cold
    assert (res["exit_code"], res["stdout"]) == (0, "still fine\n")
    assert wait_until(lambda: metric(metrics(warm), "coderunner_pool_sandbox_failures_total",
                                     pool="warm") > failures, timeout=10)
    assert warm_pool_full(warm)
    warm_ok(warm, "print('warm again')")


def _in_idle_warm_sandbox(server, pid):
    """True for a process of one of server's idle warm sandboxes."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            text = f.read()
    except OSError:
        return False
    ids = idle_warm_job_ids(server.proc.pid)
    return any(re.search(rf"/coderunner-{server.proc.pid}/job-{i}$", text, re.M) for i in ids)


def test_sighup_replaces_the_pool(warm):
    assert warm_pool_full(warm)
    retired = metric(metrics(warm), "coderunner_pool_sandboxes_retired_total", pool="warm")
    ids = idle_warm_job_ids(warm.proc.pid)
    warm.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: metric(metrics(warm), "coderunner_pool_sandboxes_retired_total",
                                     pool="warm") >= retired + 2, timeout=10)
    assert warm_pool_full(warm)
    assert not ids & idle_warm_job_ids(warm.proc.pid)


def test_preload_output_never_reaches_a_job():
    # `this` prints the Zen of Python when imported
    s = Server("--warm-pool", "1", "--warm-preload", "this,json")
    try:
        res = warm_ok(s, "import sys; print('json' in sys.modules, 'this' in sys.modules)")
        assert res["stdout"] == "True True\n" and res["stderr"] == "", res
    finally:
        s.stop()


def test_info_says_what_is_preloaded(warm):
    info = warm.client.get("/api/info").json()
    assert info["features"]["warm_starts"] is True
    assert info["warm_preload"] == ["numpy", "pandas", "matplotlib.pyplot"]


def test_warm_starts_off():
    s = Server("--warm-pool", "0", "--prepared-sandboxes", "1")
    try:
        info = s.client.get("/api/info").json()
        assert (info["features"]["warm_starts"], info["warm_preload"]) == (False, [])
        res = s.ok("print(1)")
        assert res["usage"]["warm_start"] is False
        assert 'pool="warm"' not in metrics(s) and 'pool="prepared"' in metrics(s)
    finally:
        s.stop()


def test_bad_preload_list_is_refused_at_start():
    r = subprocess.run([BIN, "serve", "--rootfs", ROOTFS, "--listen", "127.0.0.1:0",
                        "--warm-preload", "os;import shutil"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "--warm-preload" in r.stderr and "module names" in r.stderr


def test_prepared_sandboxes_serve_cold_jobs_with_the_same_guarantees():
    s = Server("--warm-pool", "0", "--prepared-sandboxes", "1")
    try:
        assert warm_pool_full(s)
        before = metric(metrics(s), "coderunner_pool_jobs_total", pool="prepared")
        res = s.ok("import sys, os\nprint(len(sys.modules) < 100, os.getuid(), sys.argv)\n"
                   "open('output/a.txt', 'w').write('x')\nsys.exit(4)", cpus=2)
        assert (res["exit_code"], res["stdout"], res["usage"]["warm_start"]) == \
            (4, "True 1000 ['main.py']\n", False), res
        assert res["artifacts"] == {"a.txt": "x"}
        assert metric(metrics(s), "coderunner_pool_jobs_total", pool="prepared") == before + 1
        assert warm_pool_full(s)
        res = s.ok("x = bytearray(300 << 20); x[::4096] = b'x' * len(x[::4096])", memory_mb=128)
        assert (res["exit_code"], res["oom_killed"]) == (137, True), res
        assert warm_pool_full(s)
        res = s.ok("import os; os.environ['OMP_NUM_THREADS'] == '1' or exit(9)\nwhile True: pass",
                   timeout_s=1)
        assert (res["exit_code"], res["timed_out"]) == (124, True), res
    finally:
        s.stop()
