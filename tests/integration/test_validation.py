"""Bad input over HTTP: every rejection is JSON with the right status and a
message that names the field and the rule."""
import pytest


def post_json(server, raw: bytes, content_type="application/json"):
    return server.client.post("/api/run", content=raw, headers={"Content-Type": content_type})


@pytest.mark.parametrize("body,status,text", [
    (b"{not json", 400, "malformed JSON"),
    (b"", 400, "malformed JSON"),
    (b"[]", 400, "JSON object"),
    (b'{"script": 5}', 400, "script: must be a string"),
    (b'{"script": "x", "bogus": 1}', 400, 'unknown field "bogus"'),
    (b'{"script": "x", "files": {"main.py": ""}}', 400, "exclusive"),
    (b'{"script": "x", "timeout_s": 0}', 400, "timeout_s"),
    (b'{"script": "x", "timeout_s": "ten"}', 400, "timeout_s"),
    (b'{"script": "x", "context": {"../etc/passwd": "x"}}', 400, '".."'),
    (b'{"script": "x", "context": {"/abs": "x"}}', 400, "absolute"),
    (b'{"script": "x", "context": {"a\\\\b": "x"}}', 400, "backslash"),
    (b'{"script": "x", "context": {"a\\u0000b": "x"}}', 400, "u0000"),
    (b'{"script": "x", "context": {".hidden": "x"}}', 400, "dot"),
    (b'{"script": "x", "context": {"a": {"content": "%%%", "encoding": "base64"}}}', 400, "invalid base64"),
    (b'{"script": "x", "context": {"a": {"content": "x", "encoding": "latin-1"}}}', 400, "unknown encoding"),
    (b'{"files": {"a.py": ""}}', 400, "entry_point"),
    (b'{"files": {"a.py": ""}, "entry_point": "zzz.py"}', 400, "not among files"),
    (b'{"files": {"main.py": "", "x": "", "x/y.py": ""}}', 400, "duplicate path"),
    (b'{"script": "x", "dependencies": ["emoji>=2"]}', 501, "dependencies"),
    (b'{"script": "x", "dependencies": "emoji"}', 400, "dependencies"),
    (b'{"script": "x", "dependencies": ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p"]}',
     400, "at most 15"),
])
def test_rejections(server, body, status, text):
    r = post_json(server, body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert text in r.json()["error"]


def test_script_over_256k_is_413(server):
    r = server.run(script="#" * (256 * 1024 + 1))
    assert r.status_code == 413
    assert "script" in r.json()["error"]
    assert server.run(script="#" * (256 * 1024)).status_code == 200


def test_raw_script_over_limit_is_413(server):
    r = post_json(server, b"#" * (256 * 1024 + 1), "text/plain")
    assert r.status_code == 413


def test_file_over_5m_is_413(server):
    r = server.run(script="", context={"big.txt": "x" * (5 * 1024 * 1024 + 1)})
    assert r.status_code == 413
    assert 'context["big.txt"]' in r.json()["error"]


def test_context_total_over_10m_is_413(server):
    ctx = {f"f{i}.txt": "x" * (4 * 1024 * 1024) for i in range(3)}
    r = server.run(script="", context=ctx)
    assert r.status_code == 413
    assert "total" in r.json()["error"]


def test_more_than_20_context_files_is_400(server):
    r = server.run(script="", context={f"f{i}": "" for i in range(21)})
    assert r.status_code == 400
    assert "more than 20" in r.json()["error"]


def test_body_over_16m_refused_before_reading(server):
    # Declares a huge body but sends only a little: the server must answer
    # from the header alone instead of waiting for (or buffering) the rest.
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1073741824\r\n\r\n{\"script\":")
        reply = b""
        while chunk := s.recv(4096):  # the server closes after a 413
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413")
    assert '"error"' in reply


def test_wrong_method_and_unknown_path(server):
    r = server.client.get("/api/run")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert "error" in r.json()
    r = server.client.get("/api/nothing")
    assert r.status_code == 404
    assert "error" in r.json()


def test_server_survives_garbage_then_runs_normally(server):
    for raw in (b"\xff\xfe\x00", b"{" * 100000, b"[" * 5000 + b"]" * 5000, b'{"script":"\xff"}'):
        r = post_json(server, raw)
        assert r.status_code == 400, r.text
    assert server.ok("print('fine')")["stdout"] == "fine\n"
