"""Hostile jobs: each case proves one defence. The autouse fixture below
checks that the server survived, runs a normal job afterwards, and that
nothing leaked: fds, mounts, workspaces, processes, cgroups."""
import concurrent.futures
import os
import socket
import threading
import time

import pytest

from conftest import Server, job_processes, leak_snapshot, rss_kib, wait_until, warm_pool_full


@pytest.fixture(autouse=True)
def no_leaks_and_still_healthy(server):
    server.ok_client_reset()
    assert warm_pool_full(server), "the warm pool did not fill"
    before = leak_snapshot(server)
    yield
    assert server.proc.poll() is None, "the server died"
    res = server.ok("print(6 * 7)")
    assert (res["exit_code"], res["stdout"], res["stderr"]) == (0, "42\n", "")
    server.ok_client_reset()
    settled = wait_until(lambda: leak_snapshot(server) == before, timeout=15)
    assert settled, {"before": before, "after": leak_snapshot(server)}


def run(server, script, **kw):
    r = server.run(script=script, **kw)
    assert r.status_code == 200, r.text
    return r.json()


# ---- resources ----------------------------------------------------------

def test_fork_bomb(server):
    res = run(server, "import os\nwhile True:\n    os.fork()", timeout_s=20)
    assert res["exit_code"] != 0
    assert res["duration_ms"] < 20_000 or res["timed_out"]


def test_memory_bomb(server):
    res = run(server, "chunks = []\nwhile True:\n    chunks.append(bytearray(50 << 20))",
              memory_mb=200, timeout_s=30)
    assert res["exit_code"] == 137 and res["oom_killed"] is True


@pytest.mark.parametrize("where", ["/workspace", "/tmp", "/dev/shm"])
def test_disk_fill(server, where):
    res = run(server,
              f"import errno\nn = 0\ntry:\n    with open('{where}/fill', 'wb') as f:\n"
              "        while True:\n            f.write(b'\\0' * (1 << 20)); n += 1\n"
              "except OSError as e:\n    print('full', errno.errorcode[e.errno], n)\n",
              timeout_s=60)
    # the tmpfs (512 MiB) or the memory limit stops it, never the host
    if res["exit_code"] == 137:
        assert res["oom_killed"]
    else:
        assert res["stdout"].startswith("full "), res
        assert res["stdout"].split()[1] in ("ENOSPC", "EFBIG")
        assert int(res["stdout"].split()[2]) <= 512


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_gigabyte_of_output_keeps_server_memory_bounded(server, stream):
    before = rss_kib(server.proc.pid)
    res = run(server, f"import sys\nchunk = b'y' * (1 << 20)\nfor _ in range(1024):\n"
                      f"    sys.{stream}.buffer.write(chunk)\nsys.{stream}.flush()\n", timeout_s=120)
    assert res["exit_code"] == 0, res["stderr"][-300:]
    assert len(res[stream]) == 1 << 20
    assert res[f"{stream}_dropped_bytes"] == (1 << 30) - (1 << 20)
    assert rss_kib(server.proc.pid) - before < 64 * 1024  # KiB


def test_infinite_loop(server):
    res = run(server, "while True:\n    pass", timeout_s=1)
    assert res["exit_code"] == 124 and res["timed_out"]


def test_double_fork_setsid_escape_from_timeout(server):
    res = run(server,
              "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        time.sleep(1000)\n    os._exit(0)\ntime.sleep(1000)", timeout_s=1)
    assert res["exit_code"] == 124
    assert wait_until(lambda: job_processes() == [])


def test_sigterm_ignoring_children_do_not_outlive_the_job(server):
    res = run(server,
              "import os, signal, time\nfor _ in range(5):\n    if os.fork() == 0:\n"
              "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n        time.sleep(1000)\n"
              "print('parent done')")
    assert res["exit_code"] == 0 and res["stdout"] == "parent done\n"
    assert res["duration_ms"] < 10_000
    assert wait_until(lambda: job_processes() == [])


def test_32_hostile_jobs_at_once(server):
    scripts = [
        ("import os\nwhile True:\n    os.fork()", {}),
        ("x = []\nwhile True:\n    x.append(bytearray(50 << 20))", {"memory_mb": 100}),
        ("while True:\n    pass", {}),
        ("import sys\nwhile True:\n    sys.stdout.write('z' * 65536)", {}),
    ]

    def one(i):
        script, extra = scripts[i % len(scripts)]
        r = server.run(script=script, timeout_s=3, **extra)
        return r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    assert all(status == 200 for status, _ in results), [(s, r.get("error")) for s, r in results if s != 200]
    assert all(res["exit_code"] != 0 for _, res in results)


# ---- what a job can see and reach --------------------------------------

def test_host_files_and_host_processes_are_out_of_reach(server):
    res = run(server,
              "import os\n"
              "for p in ('/etc/shadow', '/proc/1/environ', '/proc/1/root/etc/hostname'):\n"
              "    try:\n        open(p, 'rb').read(); print('read', p)\n"
              "    except OSError as e:\n        print('denied', p, e.errno)\n"
              "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
              f"print(os.path.exists('/proc/{server.proc.pid}'), os.path.exists('{os.path.abspath('.')}'))")
    lines = res["stdout"].splitlines()
    assert all(line.startswith("denied") for line in lines[:3]), lines
    assert lines[3] == "[1, 2]"
    assert lines[4] == "False False"


def test_no_route_to_host_loopback_services(server):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        res = run(server,
                  "import socket\n"
                  f"for port in ({port}, {server.port}):\n"
                  "    s = socket.socket(); s.settimeout(2)\n"
                  "    try:\n        s.connect(('127.0.0.1', port)); print('connected')\n"
                  "    except OSError as e:\n        print('refused')\n")
        assert res["stdout"] == "refused\nrefused\n"
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_raw_and_packet_sockets_denied(server):
    res = run(server,
              "import socket\n"
              "for fam, typ, proto in ((socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),\n"
              "                        (socket.AF_INET6, socket.SOCK_RAW, 58),\n"
              "                        (socket.AF_PACKET, socket.SOCK_RAW, 0),\n"
              "                        (socket.AF_NETLINK, socket.SOCK_RAW, 9)):\n"
              "    try:\n        socket.socket(fam, typ, proto); print('open')\n"
              "    except PermissionError:\n        print('EPERM')\n"
              "print(socket.if_nameindex())")
    assert res["stdout"] == "EPERM\nEPERM\nEPERM\nEPERM\n[(1, 'lo')]\n"


# x86_64 numbers, with arguments that would do something if allowed.
DENIED_SYSCALLS = {
    "mount": (165, 0, 0, 0, 0, 0), "umount2": (166, 0, 0), "pivot_root": (155, 0, 0),
    "chroot": (161, 0), "unshare(NEWUSER)": (272, 0x10000000), "setns": (308, 0, 0),
    "keyctl": (250, 0, 0, 0, 0), "add_key": (248, 0, 0, 0, 0, 0), "request_key": (249, 0, 0, 0, 0),
    "bpf": (321, 0, 0, 0), "perf_event_open": (298, 0, 0, 0, 0, 0), "userfaultfd": (323, 0),
    "io_uring_setup": (425, 1, 0), "ptrace": (101, 16, 1, 0, 0),
    "process_vm_readv": (310, 1, 0, 0, 0, 0, 0), "kexec_load": (246, 0, 0, 0, 0),
    "init_module": (175, 0, 0, 0), "finit_module": (313, 0, 0, 0), "delete_module": (176, 0, 0),
    "open_by_handle_at": (304, 0, 0, 0), "name_to_handle_at": (303, 0, 0, 0, 0, 0),
    "swapon": (167, 0, 0), "swapoff": (168, 0), "reboot": (169, 0, 0, 0, 0), "acct": (163, 0),
    "quotactl": (179, 0, 0, 0, 0), "personality(ADDR_NO_RANDOMIZE)": (135, 0x0040000),
    "clone(NEWNS)": (56, 0x00020000 | 17, 0, 0, 0, 0), "open_tree": (428, 0, 0, 0),
    "fsopen": (430, 0, 0), "syslog": (103, 3, 0, 0),
}


def test_each_denied_syscall_fails_with_eperm(server):
    calls = ",".join(f"{name!r}: {args!r}" for name, args in DENIED_SYSCALLS.items())
    res = run(server,
              "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              f"calls = {{{calls}}}\n"
              "for name, args in calls.items():\n"
              "    r = libc.syscall(*[ctypes.c_long(a) for a in args])\n"
              "    print(name, r, errno.errorcode.get(ctypes.get_errno()))\n"
              "import os\ntry:\n    os.unshare(os.CLONE_NEWNET)\nexcept PermissionError:\n    print('os.unshare EPERM')\n"
              "print('clone3', libc.syscall(ctypes.c_long(435), None, ctypes.c_long(0)), "
              "errno.errorcode.get(ctypes.get_errno()))\n")
    lines = res["stdout"].splitlines()
    for name, line in zip(DENIED_SYSCALLS, lines):
        assert line == f"{name} -1 EPERM", line
    assert "os.unshare EPERM" in lines
    assert lines[-1] == "clone3 -1 ENOSYS"


def test_ordinary_python_still_works_under_the_filter(server):
    res = run(server,
              "import multiprocessing as mp, subprocess, threading, asyncio, tempfile\n"
              "with mp.Pool(2) as p:\n    print(p.map(abs, [-1, -2]))\n"
              "print(subprocess.run(['echo', 'sub'], capture_output=True, text=True).stdout.strip())\n"
              "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
              "print(asyncio.run(asyncio.sleep(0, 'async')))\n"
              "with tempfile.NamedTemporaryFile() as f:\n    print('tmp', bool(f.name))\n")
    assert res["stdout"] == "[1, 2]\nsub\nthread\nasync\ntmp True\n", res["stderr"]


def test_privileges_are_gone(server):
    res = run(server,
              "import os, resource\nst = open('/proc/self/status').read()\n"
              "caps = {l.split(':')[0]: l.split()[1] for l in st.splitlines() if l.startswith('Cap')}\n"
              "print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
              "print(sorted(set(caps.values())))\n"
              "print([l.split()[1] for l in st.splitlines() if l.startswith(('NoNewPrivs', 'Seccomp:'))])\n"
              "print(resource.getrlimit(resource.RLIMIT_CORE), resource.getrlimit(resource.RLIMIT_NOFILE)[1])\n"
              "print(open('/proc/self/uid_map').read().split())")
    lines = res["stdout"].splitlines()
    assert lines[0] == "1000 1000 1000 []"
    assert lines[1] == "['0000000000000000']"
    assert lines[2] == "['1', '2']"
    assert lines[3] == "(0, 0) 4096"
    inside, outside, count = lines[4].strip("[]").replace("'", "").split(", ")
    assert inside == "0" and int(outside) >= 100000 and count == "65536"


def test_rootfs_is_read_only_and_setuid_is_inert(server):
    res = run(server,
              "import os, stat, subprocess\n"
              "for p in ('/usr/bin/python3', '/etc/passwd', '/usr/lib/new', '/var/tmp/new'):\n"
              "    try:\n        open(p, 'ab'); print('wrote', p)\n"
              "    except OSError as e:\n        print(e.errno)\n"
              "print(bool(os.statvfs('/usr/bin').f_flag & os.ST_NOSUID), bool(os.statvfs('/').f_flag & os.ST_RDONLY))\n"
              "suid = [os.path.join(d, f) for d in ('/usr/bin', '/usr/sbin') for f in os.listdir(d)\n"
              "        if os.stat(os.path.join(d, f)).st_mode & stat.S_ISUID]\n"
              "print(len(suid) > 0)\n"
              "r = subprocess.run(['su', '-c', 'id -u', 'root'], capture_output=True, text=True, stdin=subprocess.DEVNULL)\n"
              "print(r.returncode != 0, r.stdout.strip() != '0')\n")
    lines = res["stdout"].splitlines()
    assert set(lines[:3]) <= {"13", "30"}  # EACCES or EROFS
    assert lines[3] == "30"  # world-writable /var/tmp of the rootfs: EROFS
    assert lines[4] == "True True"
    assert lines[6] == "True True"


# ---- artifacts ----------------------------------------------------------

def test_symlink_and_hardlink_artifact_tricks(server):
    res = run(server,
              "import os\n"
              "os.symlink('/etc/shadow', 'output/shadow')\n"
              "os.symlink('/nowhere', 'output/dangling')\n"
              "os.symlink('/run/coderunner/jobs/1/output/secret', 'output/other-job')\n"
              "os.symlink('..', 'output/up')\n"
              "os.mkdir('output/d'); os.symlink('/etc', 'output/d/etc')\n"
              "try:\n    os.link('/etc/passwd', 'output/passwd-link'); print('linked')\n"
              "except OSError as e:\n    print('link', e.errno)\n"
              "open('/workspace/mine.txt', 'w').write('mine')\n"
              "os.link('/workspace/mine.txt', 'output/mine-link')\n"
              "try:\n    os.mknod('output/dev', 0o666 | 0o020000, os.makedev(1, 3)); print('mknod')\n"
              "except OSError as e:\n    print('mknod', e.errno)\n"
              "os.mkfifo('output/fifo')\n")
    assert res["stdout"] == "link 18\nmknod 1\n"  # EXDEV, EPERM
    assert res["artifacts"] == {"mine-link": "mine"}
    omitted = "\n".join(res["artifacts_omitted"])
    for name in ("shadow", "dangling", "other-job", "up", "d/etc", "fifo"):
        assert name in omitted, name


def test_ten_thousand_tiny_files(server):
    res = run(server, "for i in range(10000):\n    open(f'output/f{i:05}.txt', 'w').write('x')",
              timeout_s=120)
    assert len(res["artifacts"]) == 1000
    assert len(res["artifacts_omitted"]) == 101
    assert res["artifacts_omitted"][-1] == "... and 8900 more files left out"


def test_deep_tree_and_odd_names(server):
    res = run(server,
              "import os\np = 'output'\nfor i in range(40):\n    p += '/d'\nos.makedirs(p)\n"
              "open(p + '/deep.txt', 'w').write('deep')\n"
              "open('output/new\\nline.txt', 'w').write('nl')\n"
              "open(b'output/bad\\xffname.txt', 'w').write('bad')\n"
              "open('output/ok.txt', 'w').write('ok')\n")
    assert res["artifacts"]["new\nline.txt"] == "nl"
    assert res["artifacts"]["ok.txt"] == "ok"
    assert not any(k.endswith("deep.txt") for k in res["artifacts"])
    omitted = "\n".join(res["artifacts_omitted"])
    assert "nested deeper than 32" in omitted
    assert "bad\ufffdname.txt: name is not valid UTF-8" in omitted


def test_path_traversal_in_names_is_refused(server):
    for body in ({"script": "print(1)", "context": {"../../etc/cron.d/x": "x"}},
                 {"files": {"main.py": "", "/etc/x.py": ""}},
                 {"files": {"main.py": "", "a/../../x.py": ""}},
                 {"files": {"main.py": ""}, "entry_point": "../main.py"}):
        r = server.run(**body)
        assert r.status_code == 400, body
        assert "path" in r.json()["error"]


def test_invalid_utf8_and_nul_on_output(server):
    res = run(server, "import sys, os\nos.write(1, b'\\x00\\xff\\xfe ok \\xc3')\nos.write(2, b'\\x00e')")
    assert res["stdout"] == "\ufffd\ufffd\ufffd ok \ufffd"
    assert res["stderr"] == "\ufffde"


# ---- abusive clients ----------------------------------------------------

def test_slowloris_clients_are_dropped():
    s = Server("--io-timeout", "1", "--http-threads", "4")
    socks = []
    try:
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            socks.append(c)
        start = time.monotonic()
        assert s.ok("print('served')", timeout_s=5)["stdout"] == "served\n"
        assert time.monotonic() - start < 20
        for c in socks:  # each stalled client was cut off, not held forever
            c.settimeout(10)
            try:
                reply = c.recv(4096)
            except ConnectionResetError:
                reply = b""
            assert reply == b"" or reply.split(b" ")[1].startswith(b"4"), reply
    finally:
        for c in socks:
            c.close()
        s.stop()


def test_long_job_outlives_the_io_timeout():
    s = Server("--io-timeout", "1")
    try:
        res = s.ok("import time\ntime.sleep(3)\nprint('slow but fine')")
        assert res["stdout"] == "slow but fine\n"
    finally:
        s.stop()


def test_chunked_gigabyte_body_is_cut_off(server):
    sent = 0

    def body():
        nonlocal sent
        chunk = b"x" * (1 << 20)
        for _ in range(1024):
            sent += len(chunk)
            yield chunk

    before = rss_kib(server.proc.pid)
    try:
        r = server.client.post("/api/run", content=body(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
    except Exception:
        pass  # the server may close the connection while we are still sending
    assert sent < 200 << 20, "the server kept reading far past its limit"
    assert rss_kib(server.proc.pid) - before < 64 * 1024


def test_deeply_nested_json_is_refused(server):
    for raw in (b"[" * 100000 + b"]" * 100000, b'{"script":' + b"[" * 100000):
        r = server.client.post("/api/run", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400


def test_concurrent_jobs_get_distinct_host_id_ranges(server):
    script = "import time\nprint(open('/proc/self/uid_map').read().split()[1], flush=True)\ntime.sleep(1.5)"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: run(server, script), range(2))
    assert a["stdout"] != b["stdout"], (a["stdout"], b["stdout"])


def test_kernel_interfaces_in_proc_are_masked_or_read_only(server):
    res = run(server,
              "import os\n"
              "for p in ('/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sysrq-trigger'):\n"
              "    try:\n        print(p, len(open(p, 'rb').read(64)))\n"
              "    except OSError as e:\n        print(p, 'denied', e.errno)\n"
              "for p in ('/proc/sys/kernel/hostname', '/proc/sysrq-trigger'):\n"
              "    try:\n        open(p, 'w').write('x'); print('wrote', p)\n"
              "    except OSError as e:\n        print(p, 'denied', e.errno)\n")
    lines = res["stdout"].splitlines()
    for line in lines[:4]:  # empty (masked by /dev/null) or unreadable
        assert line.endswith(" 0") or " denied " in line, line
    assert all(" denied " in line for line in lines[4:]), lines
