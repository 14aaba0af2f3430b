// SPDX-License-Identifier: GPL-2.0-or-later
/* See nlwatch.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "common/cleanup.h"
#include "kernel-helpers/nlwatch.h"

struct nlwatch {
	struct mnl_socket *nft, *rt;
	char *buf;
};

/* Group numbers above 32 cannot go in bind()'s mask: join each one. */
static int join(struct mnl_socket *nl, unsigned group)
{
	int g = (int)group;

	return mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &g,
				     sizeof(g)) < 0 ?
		       -errno :
		       0;
}

static int open_bus(int bus, const unsigned *groups, size_t n,
		    struct mnl_socket **out)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int r = 0;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		r = -errno;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = join(nl, groups[i]);
	if (r < 0) {
		mnl_socket_close(nl);
		return r;
	}
	*out = nl;
	return 0;
}

int nlwatch_open(struct nlwatch **out, struct failure *fail)
{
	static const unsigned nft_groups[] = { NFNLGRP_NFTABLES };
	static const unsigned rt_groups[] = {
		RTNLGRP_IPV4_RULE,
		RTNLGRP_IPV6_RULE,
		RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV6_ROUTE,
	};
	struct nlwatch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!w->buf) {
		nlwatch_close(w);
		return -ENOMEM;
	}
	r = open_bus(NETLINK_NETFILTER, nft_groups, ARRAY_SIZE(nft_groups),
		     &w->nft);
	if (r < 0) {
		failure_set(fail, "listen to nf_tables notifications");
		nlwatch_close(w);
		return r;
	}
	r = open_bus(NETLINK_ROUTE, rt_groups, ARRAY_SIZE(rt_groups), &w->rt);
	if (r < 0) {
		failure_set(fail, "listen to ip rule and route notifications");
		nlwatch_close(w);
		return r;
	}
	*out = w;
	return 0;
}

void nlwatch_close(struct nlwatch *w)
{
	if (!w)
		return;
	if (w->nft)
		mnl_socket_close(w->nft);
	if (w->rt)
		mnl_socket_close(w->rt);
	free(w->buf);
	free(w);
}

static int gen_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_GEN_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* NFT_MSG_NEWGEN closes each committed transaction and names its maker. */
static void note_gen(const struct nlmsghdr *nlh, struct nlwatch_event *ev)
{
	const struct nlattr *tb[NFTA_GEN_MAX + 1] = { 0 };

	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr_cb, tb);
	if (tb[NFTA_GEN_PROC_PID])
		ev->pid = (pid_t)ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID]));
	if (tb[NFTA_GEN_PROC_NAME])
		snprintf(ev->comm, sizeof(ev->comm), "%s",
			 mnl_attr_get_str(tb[NFTA_GEN_PROC_NAME]));
}

/* Reads what one socket has queued, without blocking. */
static int drain(struct nlwatch *w, struct mnl_socket *nl, bool nft,
		 struct nlwatch_event *ev)
{
	for (;;) {
		ssize_t len = recv(mnl_socket_get_fd(nl), w->buf,
				   MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int rem;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			return 0;
		if (len < 0 && errno == ENOBUFS) {
			ev->lost = ev->nft = ev->routing = true;
			continue;
		}
		if (len < 0)
			return -errno;
		rem = (int)len;
		for (nlh = (void *)w->buf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (!nft) {
				ev->routing = true;
				continue;
			}
			ev->nft = true;
			if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
				note_gen(nlh, ev);
		}
	}
}

int nlwatch_wait(struct nlwatch *w, int timeout_ms, struct nlwatch_event *ev)
{
	struct pollfd p[2] = {
		{ .fd = mnl_socket_get_fd(w->nft), .events = POLLIN },
		{ .fd = mnl_socket_get_fd(w->rt), .events = POLLIN },
	};
	int r;

	*ev = (struct nlwatch_event){ 0 };
	r = poll(p, 2, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	r = drain(w, w->nft, true, ev);
	if (r == 0)
		r = drain(w, w->rt, false, ev);
	if (r < 0)
		return r;
	return ev->nft || ev->routing;
}
