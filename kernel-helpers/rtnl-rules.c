// SPDX-License-Identifier: GPL-2.0-or-later
/* Everyone's fwmark ip rules; see rtnl-rules.h. */

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "common/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/rtnl-rules.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct mnl_socket *, mnl_socket_close)

struct rule_list {
	struct fwmark_rule *items;
	size_t n;
	int err;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= FRA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1] = { 0 };
	struct rule_list *list = data;
	struct fwmark_rule rule, *grown;

	if (nlh->nlmsg_type != RTM_NEWRULE)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*frh), attr_cb, tb);
	if (!tb[FRA_FWMARK])
		return MNL_CB_OK;
	rule = (struct fwmark_rule){
		.family = frh->family,
		.table = frh->table,
		.mark = mnl_attr_get_u32(tb[FRA_FWMARK]),
		.mask = tb[FRA_FWMASK] ? mnl_attr_get_u32(tb[FRA_FWMASK]) :
					 0xffffffff,
		.invert = frh->flags & FIB_RULE_INVERT,
	};
	if (tb[FRA_TABLE])
		rule.table = mnl_attr_get_u32(tb[FRA_TABLE]);
	if (tb[FRA_PRIORITY])
		rule.priority = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_PROTOCOL])
		rule.protocol = mnl_attr_get_u8(tb[FRA_PROTOCOL]);
	/* `fwmark 0/0` matches every packet: it uses no mark bit. */
	if (rule.mark == 0 && rule.mask == 0)
		return MNL_CB_OK;
	grown = realloc(list->items, (list->n + 1) * sizeof(*grown));
	if (!grown) {
		list->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	list->items = grown;
	list->items[list->n++] = rule;
	return MNL_CB_OK;
}

int rtnl_fwmark_rules(struct fwmark_rule **out, size_t *n, struct failure *fail)
{
	static const int families[] = { AF_INET, AF_INET6 };
	_cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
	_cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	struct rule_list list = { 0 };
	uint32_t portid, seq = (uint32_t)time(NULL);
	int r;

	if (!buf)
		return -ENOMEM;
	r = nl_open(NETLINK_ROUTE, &nl, &portid);
	if (r < 0) {
		failure_set(fail, "open rtnetlink socket");
		return r;
	}
	for (size_t i = 0; i < 2; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct fib_rule_hdr *frh;

		nlh->nlmsg_type = RTM_GETRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
		nlh->nlmsg_seq = ++seq;
		frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		frh->family = (uint8_t)families[i];
		r = nl_talk(nl, portid, nlh, seq, buf, MNL_SOCKET_BUFFER_SIZE,
			    rule_cb, &list, fail ? fail->kernel_msg : NULL,
			    fail ? sizeof(fail->kernel_msg) : 0);
		if (r == 0 && list.err)
			r = list.err;
		if (r < 0) {
			failure_set(fail, "list %s ip rules",
				    families[i] == AF_INET ? "IPv4" : "IPv6");
			free(list.items);
			return r;
		}
	}
	*out = list.items;
	*n = list.n;
	return 0;
}
