/* supervise.c - see supervise.h. */
#include "supervise.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the kill, the kernel tears the pid namespace down in milliseconds;
 * this bounds the wait if something unexpected holds a pipe open. */
#define DRAIN_GRACE_MS 5000

int captured_append(struct captured *c, const char *data, size_t len, size_t cap)
{
	size_t room = c->len < cap ? cap - c->len : 0;
	size_t take = len < room ? len : room;
	if (take > 0) {
		char *n = realloc(c->data, c->len + take + 1);
		if (!n)
			return -1;
		c->data = n;
		memcpy(c->data + c->len, data, take);
		c->len += take;
		c->data[c->len] = '\0';
	}
	c->dropped += len - take;
	return 0;
}

/* Reads what is available on one pipe; returns 0 at EOF, 1 if open. */
static int pump(int fd, struct captured *c, size_t cap, char *buf, size_t bufsize)
{
	ssize_t n = read(fd, buf, bufsize);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (captured_append(c, buf, (size_t)n, cap) < 0)
		c->dropped += (size_t)n; /* out of memory: count it as dropped */
	return 1;
}

/* Reads the init's set-up error, if it reported one. */
static void read_status(int fd, char *out, size_t outlen)
{
	size_t got = 0;
	out[0] = '\0';
	while (got + 1 < outlen) {
		ssize_t n = read(fd, out + got, outlen - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n'))
		out[--got] = '\0';
}

/* Reads "exit N" from a warm sandbox's control socket: 1 with *status set,
 * 0 when the socket closed or said something else. */
static int read_done(int fd, int *status)
{
	char msg[32];
	ssize_t n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 5 || memcmp(msg, "exit ", 5) != 0)
		return 0;
	msg[n] = '\0';
	*status = atoi(msg + 5);
	return 1;
}

int supervise_job(struct sandbox_proc *proc, int done_fd, double timeout_s,
		  const struct limits *lim, struct job_result *res, struct error *err)
{
	static __thread char buf[65536];
	double start = monotonic_ms(), deadline = start + timeout_s * 1e3;
	struct pollfd fds[4] = {{.fd = proc->out_fd, .events = POLLIN},
				{.fd = proc->err_fd, .events = POLLIN},
				{.fd = proc->pidfd, .events = POLLIN},
				{.fd = done_fd, .events = POLLIN}};
	int done_status = -1; /* from done_fd: the job ended, its process still exiting */
	struct captured *caps[2] = {&res->out, &res->err};
	size_t capsz[2] = {lim->stdout_cap, lim->stderr_cap};
	int exited = 0;		 /* init is gone, and with it every process of the job */
	bool done_grace = false; /* reported, and its stragglers are slow to die */
	while (fds[0].fd >= 0 || fds[1].fd >= 0 || (!exited && done_status < 0)) {
		double left = deadline - monotonic_ms();
		if (left <= 0) {
			if (done_status >= 0 && !exited && !done_grace) {
				/* not a timeout: the kernel is still ending what the job
				 * left (a fork bomb, on a busy host); as much grace as an
				 * ordinary exit gets */
				done_grace = true;
				deadline = monotonic_ms() + DRAIN_GRACE_MS;
				continue;
			}
			if (!exited && done_status < 0 && !res->timed_out) {
				/* killing pid 1 of the namespace kills every process in it */
				syscall(SYS_pidfd_send_signal, proc->pidfd, SIGKILL, NULL, 0);
				res->timed_out = true;
				deadline = monotonic_ms() + DRAIN_GRACE_MS;
				continue;
			}
			error_set(err, 0, "job output did not close %d ms after the job ended",
				  DRAIN_GRACE_MS);
			syscall(SYS_pidfd_send_signal, proc->pidfd, SIGKILL, NULL, 0);
			break;
		}
		int n = poll(fds, 4, left > 1e9 ? 1000000000 : (int)left + 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error_set(err, errno, "poll job output");
			syscall(SYS_pidfd_send_signal, proc->pidfd, SIGKILL, NULL, 0);
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    pump(fds[i].fd, caps[i], capsz[i], buf, sizeof(buf)) == 0)
				fds[i].fd = -1;
		}
		if (fds[3].fd >= 0 && (fds[3].revents & (POLLIN | POLLHUP | POLLERR))) {
			int got = read_done(fds[3].fd, &done_status);
			if (got >= 0)
				fds[3].fd = -1;
			if (got == 1) /* end the rest of the job now, as init's exit would */
				syscall(SYS_pidfd_send_signal, proc->pidfd, SIGKILL, NULL, 0);
		}
		if (fds[2].fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP))) {
			exited = 1;
			fds[2].fd = -1;
			/* the namespace is gone: what is left in the pipes is final */
			if (deadline > monotonic_ms() + DRAIN_GRACE_MS || res->timed_out)
				deadline = monotonic_ms() + DRAIN_GRACE_MS;
		}
	}
	int st = 0;
	if (done_status >= 0 && !res->timed_out) /* its exit status, already known */
		st = (done_status & 0xff) << 8;
	else {
		while (waitpid(proc->pid, &st, 0) < 0 && errno == EINTR)
			;
		proc->pid = -1; /* reaped */
	}
	res->duration_ms = monotonic_ms() - start;
	char status[512];
	if (done_status >= 0 && !res->timed_out) /* init may still hold the pipe: never wait */
		fcntl(proc->status_fd, F_SETFL, O_NONBLOCK);
	read_status(proc->status_fd, status, sizeof(status));
	if (status[0] != '\0') {
		res->exit_code = -1;
		return error_set(err, 0, "%s", status);
	}
	if (err->msg[0] != '\0') {
		res->exit_code = -1;
		return -1;
	}
	if (res->timed_out) {
		res->exit_code = 124;
		char note[128];
		int len = snprintf(
		    note, sizeof(note),
		    "%s[coderunner] timeout: the job was killed after %g s (timeout_s)\n",
		    res->err.len > 0 && res->err.data[res->err.len - 1] != '\n' ? "\n" : "",
		    timeout_s);
		captured_append(&res->err, note, (size_t)len, res->err.len + (size_t)len);
	} else if (WIFEXITED(st)) {
		res->exit_code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		res->exit_code = 128 + WTERMSIG(st);
	}
	return 0;
}
