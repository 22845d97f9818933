"""MCP over Streamable HTTP: the official TypeScript SDK as a real client,
and the protocol's edges (sessions, versions, batches, errors, Origin)."""
import json
import os
import subprocess

import pytest

from conftest import Server

HERE = os.path.dirname(__file__)
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "pytest", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream"}


def sdk_client(url, key=None):
    args = ["node", os.path.join(HERE, "mcp_client.mjs"), url] + ([key] if key else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_official_sdk_lists_and_calls_the_tool(server):
    out = sdk_client(server.url + "/mcp")
    assert out["serverVersion"]["name"] == "coderunner"
    assert out["protocolVersion"] in ("2025-06-18", "2025-03-26")
    assert out["tools"] == [{"name": "run_python", "required": ["code"], "hasOutputSchema": True}]
    plot = out["plot"]
    assert plot["isError"] is False
    kinds = [(c["type"], c.get("mimeType")) for c in plot["content"]]
    assert ("image", "image/png") in kinds
    image = next(c for c in plot["content"] if c["type"] == "image")
    assert image["bytes"] > 1000
    csv = next(c for c in plot["content"] if c["type"] == "resource")
    assert csv["uri"] == "file:///workspace/output/data.csv" and csv["resourceText"] == "a,b\n1,2\n"
    assert plot["structured"]["exit_code"] == 0 and plot["structured"]["stdout"] == "plotted\n"
    err = out["error"]
    assert err["isError"] is True and err["structured"]["exit_code"] == 1
    assert any("ValueError: boom" in (c.get("text") or "") for c in err["content"])
    timeout = out["timeout"]
    assert timeout["isError"] is True and timeout["structured"]["exit_code"] == 124
    assert "Timed out" in timeout["content"][0]["text"] and "timeout_s" in timeout["content"][0]["text"]
    assert out["badArgs"]["code"] == -32602 and "colour" in out["badArgs"]["error"]


def test_sdk_with_api_keys(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("mcp-key-0123456789abc agents\n")
    s = Server("--api-keys-file", str(keys))
    try:
        out = sdk_client(s.url + "/mcp", "mcp-key-0123456789abc")
        assert out["plot"]["structured"]["exit_code"] == 0
        r = s.client.post("/mcp", json=INIT, headers=HEADERS)
        assert r.status_code == 401
        lines = [l for l in s.log_lines() if l.get("path") == "/mcp"]
        assert lines and all(l["tenant"] == "agents" for l in lines)
    finally:
        s.stop()


def session(server, version="2025-06-18"):
    init = dict(INIT, params=dict(INIT["params"], protocolVersion=version))
    r = server.client.post("/mcp", json=init, headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["result"]["protocolVersion"] == version
    sid = r.headers["mcp-session-id"]
    r = server.client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                           headers={**HEADERS, "Mcp-Session-Id": sid})
    assert r.status_code == 202 and r.content == b""
    return {**HEADERS, "Mcp-Session-Id": sid, "MCP-Protocol-Version": version}


def rpc(server, headers, method, params=None, id=7):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return server.client.post("/mcp", json=msg, headers=headers)


def test_version_negotiation_and_ping(server):
    r = server.client.post("/mcp", json=dict(INIT, params=dict(INIT["params"], protocolVersion="1999-01-01")),
                           headers=HEADERS)
    assert r.json()["result"]["protocolVersion"] == "2025-06-18"
    h = session(server)
    assert rpc(server, h, "ping").json() == {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert rpc(server, {**h, "MCP-Protocol-Version": "2099-01-01"}, "ping").status_code == 400


def test_sessions_are_required_and_can_end(server):
    r = rpc(server, HEADERS, "tools/list")
    assert r.status_code == 400 and "Mcp-Session-Id" in r.json()["error"]["message"]
    r = rpc(server, {**HEADERS, "Mcp-Session-Id": "nope"}, "tools/list")
    assert r.status_code == 404
    h = session(server)
    assert rpc(server, h, "tools/list").status_code == 200
    assert server.client.delete("/mcp", headers=h).status_code == 204
    assert rpc(server, h, "tools/list").status_code == 404
    assert server.client.delete("/mcp", headers=h).status_code == 404


def test_json_rpc_errors(server):
    h = session(server)
    r = server.client.post("/mcp", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == -32700
    assert rpc(server, h, "no/such").json()["error"]["code"] == -32601
    r = server.client.post("/mcp", json={"jsonrpc": "1.0", "id": 1, "method": "ping"}, headers=h)
    assert r.json()["error"]["code"] == -32600
    bad = rpc(server, h, "tools/call", {"name": "run_python", "arguments": {"script": "print(1)"}}).json()
    assert bad["error"]["code"] == -32602 and "script" in bad["error"]["message"]
    bad = rpc(server, h, "tools/call", {"name": "run_python", "arguments": {}}).json()
    assert bad["error"]["code"] == -32602 and "code" in bad["error"]["message"]
    bad = rpc(server, h, "tools/call", {"name": "rm_rf", "arguments": {"code": "1"}}).json()
    assert bad["error"]["code"] == -32602
    bad = rpc(server, h, "tools/call", {"name": "run_python",
                                        "arguments": {"code": "1", "context": {"../x": "y"}}}).json()
    assert bad["error"]["code"] == -32602 and '".."' in bad["error"]["message"]
    bad = rpc(server, h, "tools/call", {"name": "run_python", "arguments": {"code": "1", "timeout_s": -1}}).json()
    assert bad["error"]["code"] == -32602 and "timeout_s" in bad["error"]["message"]


def test_batches_only_where_the_version_allows(server):
    h = session(server, "2025-06-18")
    r = server.client.post("/mcp", json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}], headers=h)
    assert r.status_code == 400
    h = session(server, "2025-03-26")
    r = server.client.post("/mcp", json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                         {"jsonrpc": "2.0", "method": "notifications/cancelled"},
                                         {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}], headers=h)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()] == [1, 2]


def test_tool_call_files_and_context(server):
    h = session(server)
    res = rpc(server, h, "tools/call", {"name": "run_python", "arguments": {
        "code": "from helper import twice\nprint(twice(open('input/n.txt').read()))",
        "files": {"helper.py": "def twice(s):\n    return s * 2"},
        "context": {"n.txt": "ab"}}}).json()["result"]
    assert res["isError"] is False and res["structuredContent"]["stdout"] == "abab\n"


def test_get_is_405_and_origin_is_checked(server):
    r = server.client.get("/mcp")
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    r = server.client.post("/mcp", json=INIT, headers={**HEADERS, "Origin": "http://evil.example"})
    assert r.status_code == 403
    r = server.client.post("/mcp", json=INIT, headers={**HEADERS, "Origin": "http://localhost:3000"})
    assert r.status_code == 200


def test_allowed_origins_option():
    s = Server("--mcp-allowed-origins", "https://app.example,https://b.example")
    try:
        r = s.client.post("/mcp", json=INIT, headers={**HEADERS, "Origin": "https://b.example"})
        assert r.status_code == 200
        r = s.client.post("/mcp", json=INIT, headers={**HEADERS, "Origin": "https://c.example"})
        assert r.status_code == 403
    finally:
        s.stop()
