"""What a job can see and touch: only its own processes, files and loopback."""
import threading


def test_only_own_processes_visible(server):
    res = server.ok("import os\npids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
                    "print(pids, os.getpid(), os.getppid())")
    assert res["stdout"] == "[1, 2] 2 1\n"


def test_runs_unprivileged_with_own_hostname(server):
    res = server.ok("import os, socket\nprint(os.getuid(), os.getgid(), os.getgroups(), socket.gethostname())\n"
                    "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])")
    uid_line, cap_line = res["stdout"].splitlines()
    assert uid_line == "1000 1000 [] sandbox"
    assert int(cap_line, 16) == 0


def test_only_loopback_and_no_route_to_server(server):
    res = server.ok(
        "import socket\nprint(socket.if_nameindex())\n"
        f"s = socket.socket()\ns.settimeout(2)\n"
        f"try:\n    s.connect(('127.0.0.1', {server.port}))\n    print('connected')\n"
        f"except OSError as e:\n    print('refused', e.errno)\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n    u.connect(('8.8.8.8', 53))\n    print('routed')\nexcept OSError as e:\n    print('unreachable')\n")
    lines = res["stdout"].splitlines()
    assert lines[0] == "[(1, 'lo')]"
    assert lines[1].startswith("refused")
    assert lines[2] == "unreachable"


def test_loopback_works_inside_the_job(server):
    res = server.ok(
        "import socket, threading\nsrv = socket.socket()\nsrv.bind(('127.0.0.1', 0))\nsrv.listen()\n"
        "c = socket.create_connection(srv.getsockname())\nconn, _ = srv.accept()\nc.sendall(b'ping')\n"
        "print(conn.recv(4))")
    assert res["stdout"] == "b'ping'\n"


def test_concurrent_jobs_have_separate_loopbacks(server):
    """A job listening on a port is invisible to every other job: each has a
    network namespace of its own."""
    listener = ("import socket, time\ns = socket.socket()\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('127.0.0.1', 7777))\ns.listen()\nprint('listening', flush=True)\n"
                "time.sleep(4)\n")
    results = {}
    t = threading.Thread(target=lambda: results.update(listener=server.ok(listener)))
    t.start()
    try:
        import time
        time.sleep(1.5)
        res = server.ok("import socket\ns = socket.socket()\ns.settimeout(2)\n"
                        "try:\n    s.connect(('127.0.0.1', 7777))\n    print('connected')\n"
                        "except OSError as e:\n    print('refused', e.errno)\n")
        assert res["stdout"] == "refused 111\n", res
    finally:
        t.join()
    assert results["listener"]["stdout"] == "listening\n"


def test_job_cannot_reconfigure_its_network(server):
    res = server.ok(
        "import fcntl, socket, struct\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "ifr = struct.pack('16sH14s', b'lo', 0, b'')\n"
        "try:\n    fcntl.ioctl(s, 0x8914, ifr)\n    print('changed')\n"  # SIOCSIFFLAGS: lo down
        "except OSError as e:\n    print('refused', e.errno)\n"
        "try:\n    open('/proc/sys/net/ipv4/ip_forward', 'w').write('1')\n    print('wrote')\n"
        "except OSError as e:\n    print('refused', e.errno)\n")
    assert res["stdout"] == "refused 1\nrefused 30\n", res


def test_host_files_not_visible_and_rootfs_read_only(server):
    res = server.ok(
        "import os\n"
        "print(os.path.exists('/work'), os.path.exists('/sys/class'), os.path.exists('/root/.bashrc'))\n"
        "for path in ('/usr/lib/evil', '/etc/passwd', '/evil'):\n"
        "    try:\n        open(path, 'w')\n        print('wrote', path)\n"
        "    except OSError as e:\n        print(type(e).__name__)\n"
        "open('/tmp/ok', 'w').write('t'); open('/dev/shm/ok', 'w').write('s')\n"
        "open('/workspace/ok', 'w').write('w'); print('writable ok')")
    lines = res["stdout"].splitlines()
    assert lines[0] == "False False False"
    assert all(not line.startswith("wrote") for line in lines[1:4]), lines
    assert lines[4] == "writable ok"


def test_minimal_dev_and_clean_environment(server):
    res = server.ok(
        "import os\nprint(sorted(os.listdir('/dev')))\n"
        "print(sorted(k for k in os.environ if k not in ('LC_CTYPE',)))\n"
        "print(os.environ['MPLBACKEND'], os.environ['PYTHONUNBUFFERED'], os.environ['LANG'])\n"
        "print(open('/dev/urandom','rb').read(4) != b'', os.sys.stdin.read() == '')")
    lines = res["stdout"].splitlines()
    assert lines[0] == str(sorted(["full", "null", "random", "shm", "stderr", "stdin", "stdout",
                                   "tty", "urandom", "zero", "fd"]))
    env = eval(lines[1])
    assert "PATH" in env and "HOME" in env and "MPLCONFIGDIR" in env
    assert not any(k.startswith(("CODERUNNER", "SSH", "SUDO")) for k in env)
    assert lines[2] == "Agg 1 C.UTF-8"
    assert lines[3] == "True True"


def test_jobs_cannot_see_each_other(server):
    started = threading.Event()
    results = {}

    def holder():
        results["a"] = server.ok(
            "import time\nopen('/workspace/secret-a', 'w').write('a')\nopen('/tmp/secret-a','w')\n"
            "print('up', flush=True)\ntime.sleep(2)\nprint('done')")

    t = threading.Thread(target=holder)
    t.start()
    started.wait(0.7)
    import time
    time.sleep(0.7)
    res = server.ok(
        "import os, subprocess\n"
        "print(sorted(os.listdir('/workspace')), os.listdir('/tmp'))\n"
        "print(len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
        "hits = subprocess.run(['find', '/', '-xdev', '-name', 'secret-a'], capture_output=True, text=True).stdout\n"
        "print(repr(hits))")
    t.join()
    lines = res["stdout"].splitlines()
    assert lines[0] == "['input', 'main.py', 'output'] ['.matplotlib']"
    assert lines[1] == "2"  # its own init and python, nothing of job a
    assert lines[2] == "''"
    assert results["a"]["stdout"] == "up\ndone\n"
