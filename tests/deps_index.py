"""A PEP 503 simple index on 127.0.0.1 serving wheels the tests build
themselves (PyPI is unreachable from CI machines), counting every request so
tests can tell a cache hit (no traffic) from an install."""
import base64
import hashlib
import http.server
import io
import threading
import time
import zipfile


def build_wheel(name, version, module_source, requires=(), module=None):
    """A pure-Python wheel: (filename, bytes)."""
    dist = name.replace("-", "_")
    module = module or dist
    files = {f"{module}/__init__.py": module_source.encode()}
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files[f"{info}/METADATA"] = meta.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: coderunner-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue()


class Index:
    """Serves {project: [(filename, bytes)]} at http://127.0.0.1:PORT/simple/."""

    def __init__(self, projects, delay_s=0.0):
        self.projects = projects
        self.delay_s = delay_s
        self.requests = []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                index.requests.append(self.path)
                if index.delay_s:
                    time.sleep(index.delay_s)
                parts = [p for p in self.path.split("/") if p]
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in index.projects:
                    links = "".join(f'<a href="/files/{fn}">{fn}</a>\n'
                                    for fn, _ in index.projects[parts[1]])
                    self._send(200, f"<html><body>\n{links}</body></html>".encode(), "text/html")
                elif len(parts) == 2 and parts[0] == "files":
                    for files in index.projects.values():
                        for fn, data in files:
                            if fn == parts[1]:
                                return self._send(200, data, "application/octet-stream")
                    self._send(404, b"no such file", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/simple"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def hits(self, project):
        return sum(1 for p in self.requests if p.rstrip("/") == f"/simple/{project}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def default_projects():
    """The test packages: one alone, one depending on another, one needing
    numpy (from the rootfs), one shadowing the rootfs's tabulate, and one
    with only a source distribution."""
    return {
        "cr-alpha": [build_wheel("cr-alpha", "1.0", "VALUE = 'alpha 1.0'\n")],
        "cr-beta": [build_wheel("cr-beta", "2.0", "from cr_alpha import VALUE\nBETA = 'beta+' + VALUE\n",
                                requires=["cr-alpha>=1.0"])],
        "cr-numpyuser": [build_wheel("cr-numpyuser", "0.1",
                                     "import numpy\nSUM = int(numpy.arange(5).sum())\n",
                                     requires=["numpy>=1.20"])],
        "tabulate": [build_wheel("tabulate", "0.0.1", "__version__ = '0.0.1'\nSHADOW = True\n")],
        "cr-sdist-only": [("cr_sdist_only-1.0.tar.gz", b"not really a tarball")],
    }
