/* netlink.h - bring the loopback interface up over rtnetlink (libmnl).
 * Owns: the one link change a job's network namespace needs. Never creates
 * an interface: a job has lo and nothing else. */
#ifndef CODERUNNER_NETLINK_H
#define CODERUNNER_NETLINK_H

#include <stdbool.h>

#include "error.h"

/* Whether lo is up already: a namespace made ahead of the job by the server
 * (netns_pool.h), which the job has no right to change. */
bool netlink_loopback_is_up(void);

/* Sets IFF_UP on lo in the calling process's network namespace. */
int netlink_loopback_up(struct error *err);

#endif
