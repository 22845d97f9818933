"""The command line: help for every command, `run` without HTTP, and clear
errors for bad usage."""
import json
import os
import subprocess

from conftest import BIN, ROOTFS


def cli(*args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, **kw)


def test_help_and_version():
    top = cli("--help")
    assert top.returncode == 0
    for word in ("serve", "run", "version"):
        assert word in top.stdout
    assert cli("version").stdout.startswith("coderunner ")


def test_serve_help_lists_every_option_with_env_and_default():
    out = cli("serve", "--help").stdout
    for opt, env in (("--listen", "CODERUNNER_LISTEN"), ("--rootfs", "CODERUNNER_ROOTFS"),
                     ("--max-jobs", "CODERUNNER_MAX_JOBS"), ("--max-timeout", "CODERUNNER_MAX_TIMEOUT"),
                     ("--stdout-limit", "CODERUNNER_STDOUT_LIMIT"),
                     ("--max-body-size", "CODERUNNER_MAX_BODY_SIZE")):
        assert opt in out and env in out, opt
    assert "default: 127.0.0.1:8080" in out


def test_run_prints_the_same_json(tmp_path):
    (tmp_path / "job.py").write_text("import pandas as pd\nprint(pd.read_csv('input/d.csv').x.sum())\n"
                                    "open('output/r.txt','w').write('ok')")
    (tmp_path / "d.csv").write_text("x\n1\n2\n")
    r = cli("run", "--rootfs", ROOTFS, "--context", str(tmp_path / "d.csv"), str(tmp_path / "job.py"))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["exit_code"] == 0
    assert res["stdout"] == "3\n"
    assert res["artifacts"] == {"r.txt": "ok"}


def test_run_timeout_flag(tmp_path):
    (tmp_path / "s.py").write_text("import time\ntime.sleep(20)")
    r = cli("run", "--rootfs", ROOTFS, "--timeout", "0.5", str(tmp_path / "s.py"))
    assert json.loads(r.stdout)["exit_code"] == 124


def test_environment_variables_configure_options(tmp_path):
    (tmp_path / "s.py").write_text("print('x' * 100)")
    env = dict(os.environ, CODERUNNER_STDOUT_LIMIT="10", CODERUNNER_ROOTFS=ROOTFS)
    r = cli("run", str(tmp_path / "s.py"), env=env)
    res = json.loads(r.stdout)
    assert res["stdout"] == "x" * 10
    assert res["stdout_truncated"] is True


def test_bad_usage_is_explained():
    r = cli("serve", "--no-such-flag")
    assert r.returncode == 2
    assert "unknown option --no-such-flag" in r.stderr
    r = cli("serve", "--max-jobs", "zero")
    assert r.returncode == 2 and "positive integer" in r.stderr
    r = cli("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_missing_rootfs_says_how_to_build_it(tmp_path):
    r = cli("serve", "--listen", "127.0.0.1:0", "--rootfs", str(tmp_path / "none"))
    assert r.returncode == 1
    assert "make rootfs" in r.stderr
