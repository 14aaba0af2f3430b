// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The confined process's seccomp filter (see seccomp-filter.h for what it
 * refuses and why). libseccomp returns -errno already.
 */

#include <errno.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "kernel-helpers/seccomp-filter.h"

/* Namespaces whose creation would take the process out of confine's rules. */
#define ESCAPING_NAMESPACES (CLONE_NEWNET | CLONE_NEWUSER)

/* Older headers lack these (Linux 5.7, 3.19, 4.5). */
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef IP_UNICAST_IF
#define IP_UNICAST_IF 50
#endif
#ifndef IPV6_UNICAST_IF
#define IPV6_UNICAST_IF 76
#endif

/*
 * A rule refuses its call always, when the argument's low 32 bits equal a
 * value (the kernel reads int arguments from the low half only, so a
 * full 64-bit comparison could be dodged with junk in the high half), when
 * two arguments equal two values, or when any bit of a flag mask is set in
 * the argument.
 */
struct filter_rule {
	const char *syscall;
	int errno_value;
	enum { ALWAYS, ARG_EQUALS, ARGS_EQUAL, ARG_ANY_BIT } when;
	unsigned arg;
	uint64_t value; /* ARG(S)_EQUAL(S): the value; ARG_ANY_BIT: the mask */
	unsigned arg2; /* ARGS_EQUAL: the second argument and its value */
	uint64_t value2;
};

/*
 * setsockopt(fd, level, optname) that pick a socket's output interface.
 * With an output interface set, a route lookup that fails (table T's
 * unreachable default included) makes the kernel assume the destination
 * is on-link there, so the packet would leave by a path the policy did not
 * set. These refusals are the first line; the service's chain, which
 * accepts a packet only on the interface its routes chose, is the one that
 * also covers what a filter cannot see (IP_PKTINFO in sendmsg, io_uring).
 */
#define SETSOCKOPT(level, name)                                        \
	{                                                              \
		"setsockopt", EPERM, ARGS_EQUAL, 1, (level), 2, (name) \
	}

static const struct filter_rule rules[] = {
	{ "socket", EPERM, ARG_EQUALS, 0, AF_PACKET },
	{ "unshare", EPERM, ARG_ANY_BIT, 0, ESCAPING_NAMESPACES },
	{ "clone", EPERM, ARG_ANY_BIT, 0, ESCAPING_NAMESPACES },
	{ "clone3", ENOSYS, ALWAYS },
	{ "setns", EPERM, ALWAYS },
	{ "bpf", EPERM, ALWAYS },
	{ "ptrace", EPERM, ALWAYS },
	{ "process_vm_readv", EPERM, ALWAYS },
	{ "process_vm_writev", EPERM, ALWAYS },
	{ "pidfd_getfd", EPERM, ALWAYS },
	/* A file or cgroup by handle, outside the process's own view. */
	{ "open_by_handle_at", EPERM, ALWAYS },
	SETSOCKOPT(SOL_SOCKET, SO_BINDTODEVICE),
	SETSOCKOPT(SOL_SOCKET, SO_BINDTOIFINDEX),
	SETSOCKOPT(IPPROTO_IP, IP_UNICAST_IF),
	SETSOCKOPT(IPPROTO_IP, IP_MULTICAST_IF),
	SETSOCKOPT(IPPROTO_IPV6, IPV6_UNICAST_IF),
	SETSOCKOPT(IPPROTO_IPV6, IPV6_MULTICAST_IF),
	/* Sticky in6_pktinfo, whose ipi6_ifindex is an output interface. */
	SETSOCKOPT(IPPROTO_IPV6, IPV6_PKTINFO),
};

static int add_rule(scmp_filter_ctx ctx, const struct filter_rule *r)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);
	uint32_t action = SCMP_ACT_ERRNO((uint32_t)r->errno_value);

	/* Not a system call on this architecture: nothing to refuse. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	switch (r->when) {
	case ALWAYS:
		return seccomp_rule_add(ctx, action, nr, 0);
	case ARG_EQUALS:
		return seccomp_rule_add(ctx, action, nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ,
						 UINT32_MAX, r->value));
	case ARGS_EQUAL:
		/* Comparisons of one rule must all hold. */
		return seccomp_rule_add(ctx, action, nr, 2,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ,
						 UINT32_MAX, r->value),
					SCMP_CMP(r->arg2, SCMP_CMP_MASKED_EQ,
						 UINT32_MAX, r->value2));
	case ARG_ANY_BIT:
		/* Rules of one call are alternatives: one per bit. */
		for (unsigned bit = 0; bit < 64; bit++) {
			uint64_t b = UINT64_C(1) << bit;
			int err;

			if (!(r->value & b))
				continue;
			err = seccomp_rule_add(
				ctx, action, nr, 1,
				SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, b, b));
			if (err < 0)
				return err;
		}
		return 0;
	}
	return -EINVAL;
}

int seccomp_filter_new(scmp_filter_ctx *out, struct failure *fail)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err;

	if (!ctx) {
		failure_set(fail, "create a seccomp filter");
		return -ENOMEM;
	}
	/*
	 * A system call of another ABI (32-bit int 0x80 on x86-64) would
	 * pass rules written for the native one: refuse them all, again
	 * with EPERM rather than a kill.
	 */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			       SCMP_ACT_ERRNO(EPERM));
	if (err < 0) {
		failure_set(fail,
			    "set the seccomp filter's foreign-ABI action");
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		err = add_rule(ctx, &rules[i]);
		if (err < 0) {
			failure_set(fail, "add a seccomp rule for %s()",
				    rules[i].syscall);
			goto fail;
		}
	}
	*out = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return err;
}

int seccomp_filter_load(scmp_filter_ctx ctx, struct failure *fail)
{
	int err = seccomp_load(ctx);

	if (err < 0)
		failure_set(fail, "load the seccomp filter");
	return err;
}

void seccomp_filter_free(scmp_filter_ctx ctx)
{
	if (ctx)
		seccomp_release(ctx);
}
