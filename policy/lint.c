// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What a policy allows but a sysadmin would not want: the list of the
 * capabilities with which a process undoes its confinement (which `run`
 * drops and KeepCapabilities= can keep), and the warnings about a plan.
 */

#include <arpa/inet.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "policy/lint.h"

/* Older headers lack the split-out capabilities of Linux 5.8. */
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
	int cap;
	const char *how;
} undoing[] = {
	{ CAP_NET_ADMIN, "it may flush confine's nf_tables rules, ip rules "
			 "and routes" },
	{ CAP_NET_RAW, "it may open AF_PACKET sockets, which bypass IP "
		       "routing and the inet hooks (the seccomp filter "
		       "refuses them too)" },
	{ CAP_SYS_ADMIN, "it may unmount the cgroup2 mount that hides the "
			 "other cgroups, and detach BPF programs" },
	{ CAP_BPF, "it may load BPF programs (the seccomp filter refuses "
		   "bpf() too)" },
	{ CAP_SYS_PTRACE, "it may take over a process outside its cgroup "
			  "and send through it" },
	{ CAP_SYS_MODULE, "it may load a kernel module that changes the "
			  "rules" },
	{ CAP_SYS_RAWIO, "it may write kernel memory through /dev/mem" },
	{ CAP_SYS_BOOT, "it may kexec a kernel without confine's rules" },
	/*
	 * open_by_handle_at() names a file by its handle alone, and a kernfs
	 * handle is just the 64-bit cgroup id: any cgroup's directory, the
	 * host's root included, opens from inside the service's own cgroup2
	 * mount, and its cgroup.procs then takes the process out.
	 */
	{ CAP_DAC_READ_SEARCH, "it may open any file or cgroup by its handle "
			       "(open_by_handle_at), outside its own view, "
			       "and move itself out of its cgroup (the "
			       "seccomp filter refuses open_by_handle_at "
			       "too)" },
};

const char *cap_undo_reason(int cap)
{
	for (size_t i = 0; i < ARRAY_SIZE(undoing); i++)
		if (undoing[i].cap == cap)
			return undoing[i].how;
	return NULL;
}

uint64_t caps_undoing(void)
{
	uint64_t set = 0;

	for (size_t i = 0; i < ARRAY_SIZE(undoing); i++)
		set |= UINT64_C(1) << undoing[i].cap;
	return set;
}

/*
 * Whether p holds the loopback address that every local service uses,
 * 127.0.0.1 or ::1 (a deliberate 127.0.0.2 is the service's own).
 */
static bool holds_common_loopback(const struct prefix *p)
{
	union inet_addr lo = { 0 };

	if (p->family == AF_INET)
		lo.v4.s_addr = htonl(INADDR_LOOPBACK);
	else
		lo.v6 = in6addr_loopback;
	return prefix_contains(p, p->family, &lo);
}

void plan_lint(const struct plan *plan, struct notes *notes)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (int cap = 0; cap < 64; cap++) {
			const char *how = cap_undo_reason(cap);
			char name[32];

			if (!how || !(svc->keep_caps & (UINT64_C(1) << cap)))
				continue;
			notes_add(notes,
				  "%s:%u: warning: service %s keeps CAP_%s, "
				  "with which it can undo its confinement: "
				  "%s",
				  svc->file, svc->keep_cap_line[cap], svc->name,
				  capability_name(cap, name, sizeof(name)),
				  how);
		}
		/*
		 * Exclusive covers whole addresses: a loopback one would be
		 * closed to every local service on every other port.
		 */
		for (size_t j = 0; svc->exclusive && j < svc->n_allows; j++) {
			const struct allow *a = &svc->allows[j];
			char dst[64];

			if (!holds_common_loopback(&a->dst))
				continue;
			prefix_format(&a->dst, dst, sizeof(dst));
			notes_add(
				notes,
				"%s:%u: warning: service %s is exclusive, so no "
				"other process may reach %s at all, on any "
				"port; %s",
				svc->file, a->line, svc->name, dst,
				a->dst.family == AF_INET ?
					"give the service a loopback address "
					"of its own, such as 127.0.0.2" :
					"IPv6 has no other loopback address, "
					"so list ::1 only in a service that "
					"is not exclusive");
		}
	}
}
