"""Runs last (file order): after the whole suite, nothing a job made is left
on the host or inside the server: mounts, processes, workspaces, fds."""
import os

from conftest import idle_warm_job_ids, job_processes, server_children, wait_until


def test_nothing_left_behind(server):
    pid = server.proc.pid
    server.ok("print('last job')")
    assert wait_until(lambda: server_children(pid) == []), server_children(pid)
    assert job_processes() == []
    idle = idle_warm_job_ids(pid)  # the warm pool's, waiting for jobs
    with open(f"/proc/{pid}/mountinfo") as f:
        job_mounts = [line.split()[4] for line in f if "/jobs/" in line]
    assert [m for m in job_mounts if m.rsplit("/", 1)[1] not in idle] == []
    assert [d for d in os.listdir(f"/proc/{pid}/root/run/coderunner/jobs") if d not in idle] == []
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if "coderunner" in line], "mounts leaked to the host"


def test_server_fds_do_not_grow(server):
    pid = server.proc.pid

    def fds():
        return len(os.listdir(f"/proc/{pid}/fd"))

    server.client.close()
    server.ok_client_reset()
    before = fds()
    for _ in range(20):
        server.ok("print(1)")
    server.client.close()
    server.ok_client_reset()
    assert wait_until(lambda: fds() <= before), (before, fds())
