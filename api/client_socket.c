/* client_socket.c - see client_socket.h. */
#include "client_socket.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

void client_socket_init(struct client_socket *c, const char *addr, int port, int server_port)
{
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->port = port;
	c->server_port = server_port;
	c->fd = -1;
}

/* Address and port of a socket's end, as text. */
static bool endpoint(int fd, bool peer, char *addr, size_t len, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		  : getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s->sin_addr, addr, (socklen_t)len);
		*port = ntohs(s->sin_port);
		return true;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(s->sin6_port);
		return true;
	}
	return false;
}

/* The connected socket whose ends match the request's. */
static int find_fd(const struct client_socket *c)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -2;
	int found = -2;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || fd < 0 || fd == dirfd(d))
			continue;
		struct stat st;
		if (fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		char addr[64];
		int port = 0, local = 0;
		if (!endpoint((int)fd, true, addr, sizeof(addr), &port) || port != c->port ||
		    strcmp(addr, c->addr) != 0)
			continue;
		if (endpoint((int)fd, false, addr, sizeof(addr), &local) &&
		    local == c->server_port) {
			found = (int)fd;
			break;
		}
	}
	closedir(d);
	return found;
}

bool client_socket_gone(void *ctx)
{
	struct client_socket *c = ctx;
	if (c->fd == -1)
		c->fd = find_fd(c);
	if (c->fd < 0)
		return false;
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0;
}
