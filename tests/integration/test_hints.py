"""Responses that teach: a hint for the next try, and /api/info that lets an
agent plan before its first call."""
from conftest import WARM_POOL


def test_missing_module_hint_names_the_dependencies_field(server):
    res = server.ok("import emoji")
    assert res["exit_code"] == 1
    assert "module 'emoji' is not installed" in res["hint"]
    assert '"dependencies"' in res["hint"]
    res = server.ok("import numpy.nonexistent_submodule_xyz")
    assert "hint" not in res  # numpy itself is installed: no misleading hint


def test_timeout_hint_names_the_limit_and_maximum(server):
    res = server.ok("import time; time.sleep(5)", timeout_s=0.5)
    assert "timeout_s of 0.5 s" in res["hint"] and "up to 300 s" in res["hint"]


def test_oom_hint_names_the_limit_and_maximum(server):
    res = server.ok("x = bytearray(300 << 20)", memory_mb=64)
    assert "memory_mb 64" in res["hint"] and "up to 1536" in res["hint"]


def test_truncated_output_hint(server):
    res = server.ok("print('z' * (2 << 20))")
    assert "/workspace/output/" in res["hint"]


def test_successful_jobs_carry_no_hint(server):
    assert "hint" not in server.ok("print(1)")


def test_info_lets_an_agent_plan(server):
    info = server.client.get("/api/info").json()
    assert info["features"] == {"dependencies": False, "mcp": True, "api_keys": False,
                                "artifacts": True, "warm_starts": WARM_POOL != "0"}
    for key in ("max_timeout_s", "max_memory_mb", "max_cpus", "max_file_bytes", "max_script_bytes"):
        assert info["limits"][key] > 0
    assert "pandas" in info["rootfs"]["packages"]
