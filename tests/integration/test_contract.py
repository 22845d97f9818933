"""The /api/run contract as an agent sees it: results, output, artifacts,
context, multi-file projects, timeouts and limits."""
import base64
import io
import json
import struct
import zlib

from conftest import Server, job_processes, wait_until


def test_health(server):
    r = server.client.get("/api/health")
    assert r.status_code == 200
    assert r.text == "OK"


def test_print_returns_exact_contract(server):
    r = server.run(script="print(2+2)")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["exit_code"] == 0
    assert body["stdout"] == "4\n"
    assert body["stderr"] == ""
    assert body["artifacts"] == {}
    assert body["timed_out"] is False
    assert body["duration_ms"] > 0


def test_exit_codes_and_separate_streams(server):
    res = server.ok("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
    assert (res["exit_code"], res["stdout"], res["stderr"]) == (3, "out\n", "err\n")
    res = server.ok("raise ValueError('boom')")
    assert res["exit_code"] == 1
    assert "ValueError: boom" in res["stderr"]


def test_signal_death_is_128_plus_n(server):
    assert server.ok("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)")["exit_code"] == 143
    assert server.ok("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")["exit_code"] == 137


def test_script_runs_as_workspace_main_py(server):
    res = server.ok("import os, sys\nprint(os.getcwd())\nprint(os.path.abspath(sys.argv[0]))")
    assert res["stdout"] == "/workspace\n/workspace/main.py\n"


def test_invalid_utf8_output_becomes_replacement_char(server):
    res = server.ok("import sys\nsys.stdout.buffer.write(b'a\\xffb\\x00c')\n"
                    "sys.stderr.buffer.write(b'\\xc3')")
    assert res["stdout"] == "a\ufffdb\ufffdc"
    assert res["stderr"] == "\ufffd"


def test_stdout_is_capped_and_job_keeps_running(server):
    res = server.ok("import sys\nsys.stdout.write('x' * (3 << 20))\nsys.stdout.flush()\n"
                    "print('still here', file=sys.stderr)")
    assert res["exit_code"] == 0
    assert len(res["stdout"]) == 1 << 20
    assert res["stdout_truncated"] is True
    assert res["stdout_dropped_bytes"] == 2 << 20
    assert res["stderr"] == "still here\n"
    assert res["stderr_truncated"] is False


def test_artifacts_text_binary_and_nested(server):
    res = server.ok(
        "import os\nos.makedirs('output/plots/deep', exist_ok=True)\n"
        "open('output/a.txt','w').write('hello')\n"
        "open('output/plots/deep/b.bin','wb').write(bytes(range(256)))\n"
        "open('output/nul.txt','wb').write(b'a\\x00b')\n")
    arts = res["artifacts"]
    assert arts["a.txt"] == "hello"
    assert arts["plots/deep/b.bin"]["encoding"] == "base64"
    assert base64.b64decode(arts["plots/deep/b.bin"]["content"]) == bytes(range(256))
    assert base64.b64decode(arts["nul.txt"]["content"]) == b"a\x00b"
    assert res["artifacts_omitted"] == []


def test_matplotlib_png_artifact(server):
    res = server.ok(
        "import matplotlib.pyplot as plt\nimport os\nos.makedirs('output/plots')\n"
        "plt.plot([1, 2, 3], [3, 1, 2])\nplt.savefig('output/plots/a.png')\nprint('saved')")
    assert res["exit_code"] == 0, res["stderr"]
    png = base64.b64decode(res["artifacts"]["plots/a.png"]["content"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_symlinks_fifos_never_followed(server):
    res = server.ok(
        "import os\nos.symlink('/etc/passwd', 'output/passwd')\n"
        "os.symlink('/nonexistent', 'output/dangling')\nos.mkfifo('output/pipe')\n"
        "os.symlink('/workspace/output', 'output/loop')\n"
        "open('output/real.txt','w').write('r')")
    assert res["artifacts"] == {"real.txt": "r"}
    omitted = " ".join(res["artifacts_omitted"])
    for name in ("passwd", "dangling", "pipe", "loop"):
        assert name in omitted


def test_artifacts_over_total_limit_are_named_and_stdout_kept(server):
    res = server.ok(
        "for i in range(3):\n    open(f'output/big{i}.bin','wb').write(b'\\1' * (4 << 20))\n"
        "print('done')")
    assert res["stdout"] == "done\n"
    assert len(res["artifacts"]) == 2
    assert len(res["artifacts_omitted"]) == 1
    assert "artifact limit" in res["artifacts_omitted"][0]


def _tiny_png():
    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte 0
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_context_text_csv_and_base64_image(server):
    png = base64.b64encode(_tiny_png()).decode()
    res = server.ok(
        "import pandas as pd\nfrom PIL import Image\n"
        "df = pd.read_csv('input/data.csv')\nprint(df['b'].sum())\n"
        "im = Image.open('input/img/pixel.png')\nprint(im.size, im.getpixel((0, 0)))\n"
        "print(open('/workspace/input/note.txt').read())",
        context={"data.csv": "a,b\n1,2\n3,4\n",
                 "img/pixel.png": {"content": png, "encoding": "base64"},
                 "note.txt": {"content": "caf\u00e9", "encoding": "utf-8"}})
    assert res["exit_code"] == 0, res["stderr"]
    assert res["stdout"] == "6\n(1, 1) (255, 0, 0)\ncaf\u00e9\n"


def test_files_mode_with_subfolders_and_entry_point(server):
    r = server.run(files={
        "app/main_entry.py": "from helpers.text import shout\nimport sibling\nprint(shout('hi'), sibling.X)",
        "app/sibling.py": "X = 42",
        "helpers/__init__.py": "",
        "helpers/text.py": "def shout(s):\n    return s.upper() + '!'",
    }, entry_point="app/main_entry.py", context={"x.txt": "ctx"})
    assert r.status_code == 200, r.text
    assert r.json()["stdout"] == "HI! 42\n"


def test_files_mode_defaults_to_main_py(server):
    r = server.run(files={"main.py": "import util; print(util.f())", "util.py": "def f(): return 'u'"})
    assert r.json()["stdout"] == "u\n"


def test_raw_mode_body_is_the_script(server):
    r = server.client.post("/api/run", content=b"print('raw')", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    assert r.json()["stdout"] == "raw\n"
    r = server.client.post("/api/run?timeout_s=0.5", content=b"import time; time.sleep(10)")
    assert r.json()["exit_code"] == 124


def test_timeout_kills_escaped_children_and_keeps_partial_output(server):
    script = (
        "import os, subprocess, sys, time\n"
        "print('before', flush=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        "time.sleep(1000)\n")
    res = server.ok(script, timeout_s=1.5)
    assert res["exit_code"] == 124
    assert res["timed_out"] is True
    assert res["stdout"] == "before\n"
    assert "timeout" in res["stderr"]
    assert res["duration_ms"] < 10_000
    assert wait_until(lambda: job_processes() == []), job_processes()


def test_background_children_do_not_outlive_a_finished_job(server):
    res = server.ok("import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
                    "print('bye')")
    assert res["exit_code"] == 0 and res["stdout"] == "bye\n"
    assert wait_until(lambda: job_processes() == []), job_processes()


def test_job_that_closes_its_output_still_times_out(server):
    res = server.ok("import os, time\nos.close(1)\nos.close(2)\ntime.sleep(100)", timeout_s=1)
    assert res["exit_code"] == 124


def test_timeout_above_maximum_is_clamped():
    s = Server("--max-timeout", "1")
    try:
        res = s.ok("import time\ntime.sleep(30)", timeout_s=100)
        assert res["exit_code"] == 124
        assert res["duration_ms"] < 10_000
    finally:
        s.stop()


def test_info_reports_rootfs_manifest(server):
    info = server.client.get("/api/info").json()
    assert info["rootfs"]["python"].startswith("3.13")
    for pkg in ("numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "requests", "httpx",
                "beautifulsoup4", "pyyaml", "toml", "python-dateutil", "tqdm", "pillow", "pip"):
        assert pkg in info["rootfs"]["packages"], pkg
    assert info["limits"]["max_timeout_s"] == 300


def test_required_packages_import(server):
    res = server.ok(
        "import numpy, pandas, scipy, sklearn, matplotlib, requests, httpx, bs4, yaml, toml, "
        "dateutil, tqdm, PIL, pip, sympy, networkx, seaborn, openpyxl, lxml, tabulate\n"
        "print(numpy.__version__.split('.')[0], pandas.__version__.split('.')[0], matplotlib.get_backend().lower())")
    assert res["exit_code"] == 0, res["stderr"]
    assert res["stdout"].split() == ["2", "2", "agg"]


def test_concurrent_jobs(server):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        return server.run(script=f"import time\ntime.sleep(0.2)\nprint({i} * 2)").json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    assert [r["exit_code"] for r in results] == [0] * 16
    assert [r["stdout"] for r in results] == [f"{i * 2}\n" for i in range(16)]
