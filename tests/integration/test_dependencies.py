"""On-demand dependencies against a local PEP 503 index (tests/deps_index.py):
installs, the cache, concurrency, validation, failures, eviction, restarts."""
import concurrent.futures
import os
import shutil
import tempfile

import pytest

from conftest import Server
from deps_index import Index, build_wheel, default_projects


@pytest.fixture(scope="module")
def index():
    idx = Index(default_projects())
    yield idx
    idx.close()


def cache_dir():
    path = tempfile.mkdtemp(prefix="coderunner-deps-test-")
    return path


@pytest.fixture(scope="module")
def dep_server(index):
    cache = cache_dir()
    s = Server("--pip-index-url", index.url, "--deps-cache-dir", cache, deps=True)
    s.cache = cache
    yield s
    s.stop()
    shutil.rmtree(cache, ignore_errors=True)


def test_install_then_cache_hit_without_index_traffic(dep_server, index):
    r = dep_server.run(script="import cr_beta\nprint(cr_beta.BETA)", dependencies=["cr-beta"])
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["stdout"] == "beta+alpha 1.0\n"
    assert res["dependencies"]["cache_hit"] is False and res["dependencies"]["install_ms"] > 0
    assert index.hits("cr-beta") == 1 and index.hits("cr-alpha") == 1
    before = len(index.requests)
    res = dep_server.ok("import cr_beta\nprint(cr_beta.BETA)", dependencies=["CR_Beta"])
    assert res["dependencies"]["cache_hit"] is True
    assert len(index.requests) == before  # the normalised name hit the same entry


def test_rootfs_packages_are_reused(dep_server, index):
    res = dep_server.ok("import cr_numpyuser, numpy\nprint(cr_numpyuser.SUM, numpy.__file__)",
                        dependencies=["cr-numpyuser"])
    total, numpy_path = res["stdout"].split()
    assert total == "10" and numpy_path.startswith("/usr/lib/python3/dist-packages/")
    assert index.hits("numpy") == 0
    res = dep_server.ok("import numpy\nprint(numpy.__version__)", dependencies=["numpy>=1.0"])
    assert res["stdout"].startswith("2.") and index.hits("numpy") == 0


def test_an_unsatisfied_rootfs_version_is_shadowed_for_that_job_only(dep_server):
    res = dep_server.ok("import tabulate\nprint(tabulate.__version__, tabulate.__file__)",
                        dependencies=["tabulate==0.0.1"])
    version, path = res["stdout"].split()
    assert version == "0.0.1" and path.startswith("/opt/")
    plain = dep_server.ok("import tabulate\nprint(tabulate.__version__)")
    assert plain["stdout"].strip() != "0.0.1"


def test_concurrent_identical_requests_install_once(dep_server, index):
    before = index.hits("cr-alpha")

    def one(_):
        return dep_server.run(script="import cr_alpha\nprint(cr_alpha.VALUE)",
                              dependencies=["cr-alpha>=0.5"]).json()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    assert [r["stdout"] for r in results] == ["alpha 1.0\n"] * 4
    assert index.hits("cr-alpha") == before + 1
    assert sum(not r["dependencies"]["cache_hit"] for r in results) == 1


@pytest.mark.parametrize("deps,text", [
    (["https://evil.example/x.whl"], "dependencies[0]"),
    (["pkg @ https://evil.example/x.whl"], "dependencies[0]"),
    (["pkg; python_version > '3'"], "markers"),
    (["-e ."], "pip options"),
    (["--index-url=http://evil.example"], "pip options"),
    (["./local"], "dependencies[0]"),
    (["ok", "pkg==1.0 --hash=sha256:00"], "dependencies[1]"),
    (["Foo_Bar", "foo-bar"], "listed twice"),
    ([""], "non-empty"),
    ([1], "non-empty string"),
    ([f"p{i}" for i in range(16)], "at most 15"),
    ("numpy", "list of strings"),
])
def test_invalid_requirements_are_refused(dep_server, deps, text):
    r = dep_server.run(script="print(1)", dependencies=deps)
    assert r.status_code == 400, r.text
    assert text in r.json()["error"]


def test_missing_and_sdist_only_packages_are_422(dep_server):
    r = dep_server.run(script="print(1)", dependencies=["cr-does-not-exist"])
    assert r.status_code == 422
    assert "cr-does-not-exist" in r.json()["error"]
    r = dep_server.run(script="print(1)", dependencies=["cr-sdist-only"])
    assert r.status_code == 422
    assert "wheel" in r.json()["error"]
    # a failed install is not cached: the same request fails the same way
    assert dep_server.run(script="print(1)", dependencies=["cr-does-not-exist"]).status_code == 422


def test_install_timeout_is_504():
    slow = Index(default_projects(), delay_s=5)
    cache = cache_dir()
    s = Server("--pip-index-url", slow.url, "--deps-cache-dir", cache,
               "--deps-install-timeout", "1.5", deps=True)
    try:
        r = s.run(script="print(1)", dependencies=["cr-alpha"])
        assert r.status_code == 504 and "1.5 s" in r.json()["error"]
        assert s.ok("print('still fine')")["stdout"] == "still fine\n"
    finally:
        s.stop()
        slow.close()
        shutil.rmtree(cache, ignore_errors=True)


def test_eviction_restart_and_corrupt_entries(index):
    cache = cache_dir()
    s = Server("--pip-index-url", index.url, "--deps-cache-dir", cache,
               "--deps-cache-size", "1", deps=True)
    try:
        assert s.ok("import cr_alpha", dependencies=["cr-alpha==1.0"])["exit_code"] == 0
        alpha = index.hits("cr-alpha")
        assert s.ok("import cr_beta", dependencies=["cr-beta==2.0"])["exit_code"] == 0
        # over the size limit: the least recently used entry (alpha) went
        res = s.ok("import cr_alpha", dependencies=["cr-alpha==1.0"])
        assert res["dependencies"]["cache_hit"] is False and index.hits("cr-alpha") > alpha
    finally:
        s.stop()
    s = Server("--pip-index-url", index.url, "--deps-cache-dir", cache, deps=True)
    try:
        before = len(index.requests)
        res = s.ok("import cr_alpha", dependencies=["cr-alpha==1.0"])
        assert res["dependencies"]["cache_hit"] is True and len(index.requests) == before
        entries = [e for e in os.listdir(os.path.join(cache, "v1")) if len(e) == 64]
        for e in entries:  # break every entry: each must be rebuilt, not trusted
            os.unlink(os.path.join(cache, "v1", e, "entry.json"))
    finally:
        s.stop()
    s = Server("--pip-index-url", index.url, "--deps-cache-dir", cache, deps=True)
    try:
        res = s.ok("import cr_alpha\nprint(cr_alpha.VALUE)", dependencies=["cr-alpha==1.0"])
        assert res["dependencies"]["cache_hit"] is False and res["stdout"] == "alpha 1.0\n"
    finally:
        s.stop()
        shutil.rmtree(cache, ignore_errors=True)


def test_dependency_metrics_info_and_audit(dep_server):
    r = dep_server.client.post("/api/run", json={"script": "import cr_alpha", "dependencies": ["CR.Alpha"]},
                               headers={"X-Request-Id": "deps-audit-1"})
    assert r.status_code == 200
    from conftest import wait_until
    assert wait_until(lambda: any(l.get("request_id") == "deps-audit-1" for l in dep_server.log_lines()))
    line = next(l for l in dep_server.log_lines() if l.get("request_id") == "deps-audit-1")
    assert line["dependencies"] == ["cr-alpha"] and line["deps_cache_hit"] in (True, False)
    text = dep_server.client.get("/metrics").text
    assert "coderunner_dependency_cache_hits_total" in text
    assert "coderunner_dependency_cache_bytes" in text
    assert dep_server.client.get("/api/info").json()["features"]["dependencies"] is True


def test_jobs_cannot_write_the_installed_packages(dep_server):
    res = dep_server.ok("import cr_alpha, os\ntry:\n    open(os.path.dirname(cr_alpha.__file__) + '/x', 'w')\n"
                        "    print('wrote')\nexcept OSError as e:\n    print('read-only', e.errno)",
                        dependencies=["cr-alpha"])
    assert res["stdout"].startswith("read-only")


def test_results_match_the_openapi_schemas(dep_server):
    import json
    import jsonschema
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "api", "openapi.json")) as f:
        doc = json.load(f)

    def check(name, instance):
        schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(instance)

    check("RunResult", dep_server.ok("import cr_alpha", dependencies=["cr-alpha"]))
    r = dep_server.run(script="1", dependencies=["cr-nope"])
    assert r.status_code == 422
    check("Error", r.json())
