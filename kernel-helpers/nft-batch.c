// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nf_tables transport: the netlink socket, and batches whose every ACK is
 * read and mapped back, by sequence number, to the object it concerns.
 */

#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft-internal.h"

int nft_open(struct nft **out, struct failure *fail)
{
	_cleanup_free_ struct nft *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	r = nl_open(NETLINK_NETFILTER, &n->nl, &n->portid);
	if (r < 0) {
		failure_set(fail, "open nf_tables netlink socket");
		return r;
	}
	n->seq = time(NULL);
	*out = TAKE_PTR(n);
	return 0;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	nft_forget_rules(n);
	mnl_socket_close(n->nl);
	free(n);
}

void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	for (size_t i = 0; i < bt->n_what; i++)
		free(bt->what[i]);
	free(bt->what);
	free(bt->ops);
}

int batch_init(struct batch *bt, struct nft *n)
{
	*bt = (struct batch){ 0 };
	/* libmnl may write one message past the limit before refusing it. */
	bt->buf = malloc(BATCH_LIMIT + MNL_SOCKET_BUFFER_SIZE);
	if (!bt->buf)
		return -ENOMEM;
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
	if (!bt->b)
		return -ENOMEM;
	bt->seq = n->seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	bt->first_seq = bt->seq;
	return 0;
}

/* Starts a message; the caller fills it and calls batch_commit_msg(). */
struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags,
			   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags,
			   const char *fmt, ...)
{
	struct nlmsghdr *nlh;
	va_list ap;
	char *what;

	if (bt->n_what == bt->cap_what) {
		size_t cap = bt->cap_what ? bt->cap_what * 2 : 64;
		char **w = realloc(bt->what, cap * sizeof(*w));
		enum failure_op *o;

		if (!w) {
			bt->oom = -ENOMEM;
			return NULL;
		}
		bt->what = w;
		o = realloc(bt->ops, cap * sizeof(*o));
		if (!o) {
			bt->oom = -ENOMEM;
			return NULL;
		}
		bt->ops = o;
		bt->cap_what = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what) {
		bt->oom = -ENOMEM;
		return NULL;
	}
	bt->ops[bt->n_what] = bt->next_op;
	bt->next_op = FAIL_OP_OTHER;
	bt->what[bt->n_what++] = what;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type,
				    NFPROTO_INET, flags | NLM_F_ACK, bt->seq++);
	return nlh;
}

void batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->overflow = true;
}

/*
 * The whole batch goes in one sendmsg() and all its ACKs are queued before
 * it returns, so both socket buffers must hold that much; the defaults
 * (about 200 KiB) do not for a large policy. Root may exceed the sysctl
 * limits with the FORCE variants.
 */
static void size_buffers(struct nft *n, size_t batch, size_t acks)
{
	int fd = mnl_socket_get_fd(n->nl);
	int snd = (int)batch + 65536;
	/*
	 * Each ACK is a skb of its own, charged at its true size (about
	 * 1 KiB with its overhead), not at the 36 bytes it carries.
	 */
	int rcv = (int)(acks * 2048) + 65536;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/*
 * Sends the batch and reads every ACK. On failure, fail names the first
 * object the kernel refused.
 */
int batch_send(struct nft *n, struct batch *bt, struct failure *fail)
{
	nft_forget_rules(n); /* whatever the batch does, they change */
	_cleanup_free_ char *rbuf = NULL;
	int first_err = 0;
	size_t acked = 0;

	if (bt->oom)
		return bt->oom;
	if (bt->overflow) {
		failure_set(fail,
			    "build one nf_tables batch for this policy "
			    "(over %d bytes)",
			    BATCH_LIMIT);
		return -E2BIG;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	n->seq = bt->seq;
	size_buffers(n, mnl_nlmsg_batch_size(bt->b), bt->n_what);

	if (mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0) {
		failure_set(fail, "send nf_tables batch");
		return -errno;
	}

	rbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!rbuf)
		return -ENOMEM;
	/*
	 * The kernel processes the whole batch inside sendmsg(), so every
	 * ACK is already queued: read until all arrived or the queue is dry.
	 */
	while (acked < bt->n_what) {
		ssize_t len = recv(mnl_socket_get_fd(n->nl), rbuf,
				   MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int rem;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			failure_set(fail, "read nf_tables batch replies");
			return -errno;
		}
		rem = len;
		for (nlh = (void *)rbuf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			char msg[sizeof(fail->kernel_msg)] = "";
			uint32_t idx = nlh->nlmsg_seq - bt->first_seq;
			int err;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acked++;
			err = nl_ack_error(nlh, msg, sizeof(msg));
			if (err == 0 || first_err)
				continue;
			first_err = err;
			if (fail) {
				snprintf(fail->object, sizeof(fail->object),
					 "%s",
					 idx < bt->n_what ?
						 bt->what[idx] :
						 "commit nf_tables batch");
				snprintf(fail->kernel_msg,
					 sizeof(fail->kernel_msg), "%s", msg);
				fail->op = idx < bt->n_what ? bt->ops[idx] :
							      FAIL_OP_OTHER;
			}
		}
	}
	if (!first_err && acked < bt->n_what) {
		failure_set(fail, "commit nf_tables batch (%zu of %zu replies)",
			    acked, bt->n_what);
		return -EPROTO;
	}
	return first_err;
}
