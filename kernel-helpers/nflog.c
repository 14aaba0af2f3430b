// SPDX-License-Identifier: GPL-2.0-or-later
/* See nflog.h. libnetfilter_log would wrap the same few messages. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nflog.h"

/*
 * A burst of refusals arrives faster than a reader formats lines: 4 MiB
 * hold some 20,000 events of 128 bytes before the kernel drops any.
 */
#define RCVBUF (4 * 1024 * 1024)

struct nflog {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t group;
	bool seq_known;
	uint32_t next_seq;
	char buf[];
};

#define BUF_SIZE (64 * 1024)

static struct nlmsghdr *config_msg(void *buf, uint16_t group, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	return nlh;
}

int nflog_open(struct nflog **out, uint16_t group, uint32_t snaplen,
	       struct failure *fail)
{
	struct nfulnl_msg_config_cmd cmd = { NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(snaplen),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nflog *l = calloc(1, sizeof(*l) + BUF_SIZE);
	struct nlmsghdr *nlh;
	char msg[256];
	int r, size = RCVBUF;

	if (!l)
		return -ENOMEM;
	r = nl_open(NETLINK_NETFILTER, &l->nl, &l->portid);
	if (r < 0) {
		failure_set(fail, "open a netfilter netlink socket");
		free(l);
		return r;
	}
	/* Root may go past net.core.rmem_max; others get what it allows. */
	if (setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &size, sizeof(size)) < 0)
		(void)setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET,
				 SO_RCVBUF, &size, sizeof(size));
	l->group = group;
	nlh = config_msg(l->buf, group, 1);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	/*
	 * Sequence numbers show what was lost. (The uid and gid of the
	 * sending socket come with every event that has one.)
	 */
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));
	/* Each event at once, not batched for up to a second. */
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	r = nl_talk(l->nl, l->portid, nlh, 1, l->buf, BUF_SIZE, NULL, NULL, msg,
		    sizeof(msg));
	/*
	 * The kernel says EPERM both to a caller without CAP_NET_ADMIN and
	 * when another socket has bound the group; root is the second.
	 */
	if (r == -EPERM && geteuid() == 0)
		r = -EBUSY;
	if (r < 0) {
		failure_set(fail, "bind nflog group %u%s", (unsigned)group,
			    r == -EBUSY ? " (another program, such as a "
					  "second confine watch or ulogd, "
					  "reads it)" :
					  "");
		if (fail)
			snprintf(fail->kernel_msg, sizeof(fail->kernel_msg),
				 "%s", msg);
		nflog_close(l);
		return r;
	}
	r = fcntl(mnl_socket_get_fd(l->nl), F_GETFL);
	if (r < 0 ||
	    fcntl(mnl_socket_get_fd(l->nl), F_SETFL, r | O_NONBLOCK) < 0) {
		r = -errno;
		failure_set(fail, "make the nflog socket non-blocking");
		nflog_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void nflog_close(struct nflog *l)
{
	if (!l)
		return;
	mnl_socket_close(l->nl);
	free(l);
}

int nflog_fd(const struct nflog *l)
{
	return mnl_socket_get_fd(l->nl);
}

struct read_ctx {
	struct nflog *l;
	void (*cb)(const struct nflog_event *ev, void *data);
	void *data;
	uint64_t *lost;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type <= NFULA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	struct read_ctx *rc = data;
	struct nflog_event ev = { .prefix = "" };

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		return MNL_CB_OK;
	if (tb[NFULA_SEQ] &&
	    mnl_attr_validate(tb[NFULA_SEQ], MNL_TYPE_U32) == 0) {
		uint32_t seq = ntohl(mnl_attr_get_u32(tb[NFULA_SEQ]));

		/* The instance counts every packet it took, sent or not. */
		if (rc->l->seq_known && seq != rc->l->next_seq)
			*rc->lost += (uint32_t)(seq - rc->l->next_seq);
		rc->l->seq_known = true;
		rc->l->next_seq = seq + 1;
	}
	if (tb[NFULA_PREFIX] &&
	    mnl_attr_validate(tb[NFULA_PREFIX], MNL_TYPE_NUL_STRING) == 0)
		ev.prefix = mnl_attr_get_str(tb[NFULA_PREFIX]);
	if (tb[NFULA_UID] &&
	    mnl_attr_validate(tb[NFULA_UID], MNL_TYPE_U32) == 0) {
		ev.has_uid = true;
		ev.uid = ntohl(mnl_attr_get_u32(tb[NFULA_UID]));
	}
	if (tb[NFULA_GID] &&
	    mnl_attr_validate(tb[NFULA_GID], MNL_TYPE_U32) == 0) {
		ev.has_gid = true;
		ev.gid = ntohl(mnl_attr_get_u32(tb[NFULA_GID]));
	}
	if (tb[NFULA_IFINDEX_OUTDEV] &&
	    mnl_attr_validate(tb[NFULA_IFINDEX_OUTDEV], MNL_TYPE_U32) == 0)
		ev.oif = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_OUTDEV]));
	if (tb[NFULA_PAYLOAD]) {
		ev.packet = mnl_attr_get_payload(tb[NFULA_PAYLOAD]);
		ev.len = mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]);
	}
	rc->cb(&ev, rc->data);
	return MNL_CB_OK;
}

int nflog_read(struct nflog *l,
	       void (*cb)(const struct nflog_event *ev, void *data), void *data,
	       uint64_t *lost, bool *overrun)
{
	struct read_ctx rc = { l, cb, data, lost };

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(l->nl, l->buf, BUF_SIZE);
		int r;

		if (n < 0 && errno == ENOBUFS) {
			/* The gap shows in the next sequence number. */
			*overrun = true;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		r = mnl_cb_run(l->buf, (size_t)n, 0, l->portid, packet_cb, &rc);
		if (r < 0 && errno != ESRCH)
			return -errno;
	}
}
