/* netlink.c - see netlink.h. */
#include "netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

bool netlink_loopback_is_up(void)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	close(fd);
	return up;
}

/* One RTM_NEWLINK request with an ACK; lo is ifindex 1 in every new netns,
 * but we look it up by name to be sure. */
int netlink_loopback_up(struct error *err)
{
	unsigned idx = if_nametoindex("lo");
	if (idx == 0)
		return error_set(err, errno, "find interface lo");
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	unsigned seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = seq;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;

	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return error_set(err, errno, "open rtnetlink socket");
	int rc = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = error_set(err, errno, "bind rtnetlink socket");
	} else if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = error_set(err, errno, "send RTM_NEWLINK for lo");
	} else {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			rc = error_set(err, errno, "receive rtnetlink ack");
		else if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
			rc = error_set(err, errno, "set lo up");
	}
	mnl_socket_close(nl);
	return rc;
}
