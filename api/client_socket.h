/* client_socket.h - notice when an HTTP client has gone away.
 * Owns: finding the socket of a civetweb connection (civetweb has no public
 * accessor) and asking the kernel whether its peer closed it. Used so a
 * request waiting in the admission queue is dropped, not run, when its
 * client gave up. Never reads request data: it only peeks. */
#ifndef CODERUNNER_CLIENT_SOCKET_H
#define CODERUNNER_CLIENT_SOCKET_H

#include <stdbool.h>

struct client_socket {
	char addr[48]; /* the client's address and port, as civetweb reports them */
	int port;
	int server_port;
	int fd; /* -1 until found; -2 when it cannot be found */
};

void client_socket_init(struct client_socket *c, const char *addr, int port, int server_port);

/* True when the client closed its end (suitable as admit_request.gone). */
bool client_socket_gone(void *client_socket);

#endif
