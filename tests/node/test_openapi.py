"""The OpenAPI document: linted by redocly, served at /api/openapi.json, and
real responses validated against its schemas, so it cannot drift from the
code."""
import json
import os
import subprocess

import jsonschema
import pytest

HERE = os.path.dirname(__file__)
DOC_PATH = os.path.abspath(os.path.join(HERE, "..", "..", "api", "openapi.json"))


@pytest.fixture(scope="module")
def doc():
    with open(DOC_PATH) as f:
        return json.load(f)


def validator(doc, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


def check(doc, name, instance):
    errors = sorted(validator(doc, name).iter_errors(instance), key=str)
    assert not errors, f"{name}: {[e.message for e in errors[:3]]}"


def test_redocly_lint_passes():
    r = subprocess.run(["npx", "--no-install", "redocly", "lint", DOC_PATH, "--config",
                        os.path.join(HERE, "redocly.yaml")],
                       cwd=HERE, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_served_document_is_the_file(server, doc):
    r = server.client.get("/api/openapi.json")
    assert r.status_code == 200 and r.json() == doc


def test_examples_match_their_schemas(doc):
    body = doc["paths"]["/api/run"]["post"]["requestBody"]["content"]["application/json"]
    for example in body["examples"].values():
        check(doc, "RunRequest", example["value"])
    ok = doc["paths"]["/api/run"]["post"]["responses"]["200"]["content"]["application/json"]["example"]
    check(doc, "RunResult", ok)


def test_real_run_results_match(server, doc):
    scripts = [
        ("print(2+2)", {}),
        ("import sys; print('x', file=sys.stderr); sys.exit(4)", {}),
        ("import time; time.sleep(3)", {"timeout_s": 0.5}),
        ("x = bytearray(300 << 20)", {"memory_mb": 64}),
        ("open('output/a.txt','w').write('t'); open('output/b.bin','wb').write(b'\\0\\1')", {}),
        ("import emoji", {}),
        ("print('y' * (2 << 20))", {}),
    ]
    for script, extra in scripts:
        r = server.run(script=script, **extra)
        assert r.status_code == 200
        check(doc, "RunResult", r.json())


def test_real_errors_match(server, doc):
    for body in ({"script": 1}, {"script": "x", "nope": 1}, {"script": "x", "dependencies": ["a"]},
                 {"script": "#" * 300000}):
        r = server.run(**body)
        assert r.status_code in (400, 413, 501)
        check(doc, "Error", r.json())
        assert str(r.status_code) in doc["paths"]["/api/run"]["post"]["responses"]


def test_info_matches(server, doc):
    check(doc, "Info", server.client.get("/api/info").json())


def test_mcp_structured_content_matches(server, doc):
    headers = {"Accept": "application/json, text/event-stream"}
    r = server.client.post("/mcp", headers=headers, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    headers["Mcp-Session-Id"] = r.headers["mcp-session-id"]
    tools = server.client.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).json()
    tool = tools["result"]["tools"][0]
    assert tool["inputSchema"]["required"] == ["code"]
    assert "$ref" not in json.dumps(tool)  # self-contained, as MCP clients need
    r = server.client.post("/mcp", headers=headers, json={
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "run_python", "arguments": {"code": "print(1)"}}})
    structured = r.json()["result"]["structuredContent"]
    check(doc, "RunResult", structured)
    jsonschema.Draft202012Validator(tool["outputSchema"]).validate(structured)
