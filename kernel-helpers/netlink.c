// SPDX-License-Identifier: GPL-2.0-or-later

#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "kernel-helpers/netlink.h"

int nl_open(int bus, struct mnl_socket **out, uint32_t *portid)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int one = 1;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(nl);
		return r;
	}
	/* Kernels before 4.12 lack extended ACKs; errors then carry no text. */
	(void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	/* Errors need not echo the whole request back. */
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Kernels before 4.20 ignore dump filters; callers filter anyway. */
	(void)mnl_socket_setsockopt(nl, NETLINK_GET_STRICT_CHK, &one,
				    sizeof(one));
	*portid = mnl_socket_get_portid(nl);
	*out = nl;
	return 0;
}

static int ext_ack_cb(const struct nlattr *attr, void *data)
{
	const char **text = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*text = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

int nl_ack_error(const struct nlmsghdr *nlh, char *msg, size_t size)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const char *text = NULL;
	size_t off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -EBADMSG;
	if (msg && size)
		msg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !msg || !size)
		return err->error;
	/* The TLVs follow the echoed request, or its header when capped. */
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
		mnl_attr_parse(nlh, off, ext_ack_cb, &text);
	if (text)
		snprintf(msg, size, "%s", text);
	return err->error;
}

int nl_talk(struct mnl_socket *nl, uint32_t portid, struct nlmsghdr *nlh,
	    uint32_t seq, void *buf, size_t size, mnl_cb_t cb, void *data,
	    char *msg, size_t msg_size)
{
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl, buf, size);
		const struct nlmsghdr *h;
		int rem;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		rem = len;
		for (h = buf; mnl_nlmsg_ok(h, rem);
		     h = mnl_nlmsg_next(h, &rem)) {
			if (h->nlmsg_seq != seq || h->nlmsg_pid != portid)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return nl_ack_error(h, msg, msg_size);
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (cb && cb(h, data) < 0)
				return -ENOMEM;
		}
	}
}
