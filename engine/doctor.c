// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine doctor's checks; see doctor.h. Each check adds findings only for
 * what deserves a word: a host where everything is as confine needs shows
 * the kernel line and nothing else.
 */

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "engine/doctor.h"
#include "kernel-helpers/features.h"
#include "kernel-helpers/netns.h"
#include "kernel-helpers/nft-probe.h"
#include "kernel-helpers/nft.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/sysctl.h"

void findings_free(struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->items[i].found);
		free(fs->items[i].why);
		free(fs->items[i].fix);
	}
	free(fs->items);
	*fs = (struct findings){ 0 };
}

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEVERITY_ERROR:
		return "error";
	case SEVERITY_WARNING:
		return "warning";
	default:
		return "info";
	}
}

/* found is formatted; why and fix are plain text. */
static void add(struct findings *fs, enum severity sev, const char *check,
		const char *why, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add(struct findings *fs, enum severity sev, const char *check,
		const char *why, const char *fix, const char *fmt, ...)
{
	struct finding *grown, *x;
	char *found;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&found, fmt, ap) < 0)
		found = NULL;
	va_end(ap);
	grown = found ? realloc(fs->items, (fs->n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(found);
		fs->err = -ENOMEM;
		return;
	}
	fs->items = grown;
	x = &fs->items[fs->n];
	*x = (struct finding){ .severity = sev,
			       .found = found,
			       .why = strdup(why),
			       .fix = strdup(fix) };
	snprintf(x->check, sizeof(x->check), "%s", check);
	if (!x->why || !x->fix) {
		free(x->found);
		free(x->why);
		free(x->fix);
		fs->err = -ENOMEM;
		return;
	}
	fs->n++;
}

/* A check that could not be made says so, with the reason. */
static void cannot(struct findings *fs, const char *check, int err,
		   const struct failure *f)
{
	add(fs, SEVERITY_WARNING, check,
	    "doctor could not make this check, so it cannot say whether the "
	    "host is right here.",
	    "Run confine doctor as root, outside any seccomp filter that "
	    "refuses netlink or bpf(2).",
	    "cannot %s: %s%s%s%s", f && f->object[0] ? f->object : "check",
	    strerror(-err), f && f->kernel_msg[0] ? " (kernel: " : "",
	    f && f->kernel_msg[0] ? f->kernel_msg : "",
	    f && f->kernel_msg[0] ? ")" : "");
}

/* ---- kernel features ------------------------------------------------ */

static void check_kernel(struct findings *fs)
{
	char release[128] = "?";
	int landlock = probe_landlock_abi();
	int bpf = probe_cgroup_bpf();
	int seccomp = probe_seccomp_filter();
	int self = probe_seccomp_self();
	char ll[64];

	probe_kernel_release(release, sizeof(release));
	if (landlock > 0)
		snprintf(ll, sizeof(ll), "ABI %d", landlock);
	else
		snprintf(ll, sizeof(ll), "no");
	add(fs, SEVERITY_INFO, "kernel",
	    "The features confine builds on, each probed by trying it.",
	    "Nothing to do.",
	    "Linux %s; cgroup socket BPF programs: %s; Landlock: %s; seccomp "
	    "filters: %s",
	    release, bpf == 0 ? "yes" : "no", ll, seccomp == 0 ? "yes" : "no");

	if (bpf < 0)
		add(fs, SEVERITY_ERROR, "cgroup-bpf",
		    "confine marks a service's sockets when they are created "
		    "with a BPF_CGROUP_INET_SOCK_CREATE program; without it "
		    "apply cannot attach them, and a Route= cannot route the "
		    "first packet of a connection.",
		    "Use a kernel with CONFIG_CGROUP_BPF and CONFIG_BPF_SYSCALL "
		    "(Linux 4.10 or later), and run confine where bpf(2) is "
		    "allowed.",
		    "loading a cgroup socket BPF program failed: %s",
		    strerror(-bpf));
	if (landlock < 0)
		add(fs, SEVERITY_WARNING, "landlock",
		    "run puts a confined process into a Landlock domain so "
		    "that it cannot ptrace or take descriptors from processes "
		    "outside it; without Landlock, processes of the same user "
		    "outside the service are not shielded from it.",
		    "Use Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK and "
		    "landlock in the lsm= boot parameter (or CONFIG_LSM).",
		    "landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION) "
		    "failed: %s",
		    strerror(-landlock));
	if (seccomp < 0)
		add(fs, SEVERITY_ERROR, "seccomp",
		    "run locks a confined process in with a seccomp filter "
		    "that refuses the system calls that would undo its "
		    "confinement (setns, unshare, bpf, ...); without it, run "
		    "refuses to start the program.",
		    "Use a kernel with CONFIG_SECCOMP_FILTER (Linux 4.14 or "
		    "later for SECCOMP_GET_ACTION_AVAIL).",
		    "seccomp(SECCOMP_GET_ACTION_AVAIL, SECCOMP_RET_ERRNO) "
		    "failed: %s",
		    strerror(-seccomp));
	if (self == 2)
		add(fs, SEVERITY_INFO, "seccomp-self",
		    "confine itself runs under a seccomp filter (a container "
		    "or a sandboxing unit); the filter may refuse what apply "
		    "and run need, and the probes above then fail for that "
		    "reason, not for the kernel's.",
		    "Run confine on the host, or allow bpf(2), setns(2), "
		    "seccomp(2) and netlink in the filter.",
		    "/proc/self/status says Seccomp: 2");
}

static void check_cgroup2(struct findings *fs)
{
	_cleanup_free_ char *point = NULL, *opts = NULL;
	int r = probe_cgroup2(&point, &opts);
	bool nsdelegate = false;

	if (r == -ENOENT) {
		add(fs, SEVERITY_ERROR, "cgroup2",
		    "confine identifies a service's sockets by their cgroup "
		    "v2; without a cgroup2 mount there is nothing to match.",
		    "Mount it: mount -t cgroup2 none /sys/fs/cgroup/unified "
		    "(or boot with systemd.unified_cgroup_hierarchy=1).",
		    "no cgroup2 mount in /proc/self/mountinfo");
		return;
	}
	if (r < 0) {
		struct failure f = { 0 };

		snprintf(f.object, sizeof(f.object),
			 "read /proc/self/mountinfo");
		cannot(fs, "cgroup2", r, &f);
		return;
	}
	for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save))
		if (strcmp(o, "nsdelegate") == 0)
			nsdelegate = true;
	if (!nsdelegate)
		add(fs, SEVERITY_INFO, "cgroup2-nsdelegate",
		    "With nsdelegate, the kernel itself refuses to let a "
		    "process in a cgroup namespace move out of it; without "
		    "it, confine relies on the private mount namespace in "
		    "which run shows the process its own cgroup as the root "
		    "of every cgroup2 mount.",
		    "Nothing is needed. To have the kernel's own boundary too, "
		    "mount cgroup2 with -o nsdelegate (systemd does on a "
		    "unified hierarchy).",
		    "cgroup2 is mounted on %s without nsdelegate", point);
}

/* ---- host files ----------------------------------------------------- */

static bool file_exists(const char *root, const char *path)
{
	char full[4096];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "re");
	if (!f)
		return false;
	fclose(f);
	return true;
}

/* Whether the first statement of the file is `flush ruleset`. */
static bool conf_flushes(const char *root, const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	char full[4096], line[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		if (*p == '#' || *p == '\n' || *p == '\0' ||
		    strncmp(p, "#!", 2) == 0)
			continue;
		return strncmp(p, "flush ruleset", 13) == 0;
	}
	return false;
}

static void check_nftables_service(struct findings *fs, const char *root)
{
	static const char *const units[] = {
		"/etc/systemd/system/nftables.service",
		"/lib/systemd/system/nftables.service",
		"/usr/lib/systemd/system/nftables.service",
	};
	const char *unit = NULL;
	bool flush = conf_flushes(root, "/etc/nftables.conf");

	for (size_t i = 0; i < ARRAY_SIZE(units) && !unit; i++)
		if (file_exists(root, units[i]))
			unit = units[i];
	if (!unit && !flush)
		return;
	add(fs, SEVERITY_WARNING, "nftables-service",
	    "Every start and reload of nftables.service loads "
	    "/etc/nftables.conf, which on Debian begins with `flush "
	    "ruleset`: that deletes table inet confine, and until it is "
	    "applied again, confined processes are not held to their "
	    "Allow= lists and exclusive destinations are open to everyone.",
	    "Apply confine's policies again after nftables.service starts "
	    "(a drop-in with ExecStartPost=confine apply, and the same for "
	    "ExecReload=), or run confine guard (confine-guard.service), "
	    "which re-applies at once when the table goes.",
	    "%s%s%s", unit ? unit : "", unit && flush ? "; " : "",
	    flush ? "/etc/nftables.conf begins with `flush ruleset`" : "");
}

/* ---- marks ---------------------------------------------------------- */

static void check_fwmark_rules(struct findings *fs, uint32_t mask)
{
	_cleanup_free_ struct rtnl_rule *rules = NULL;
	struct failure f = { 0 };
	struct rtnl *rt = NULL;
	size_t n = 0;
	int r = rtnl_open(&rt, &f);

	if (r == 0)
		r = rtnl_fwmark_rules(rt, &rules, &n, &f);
	rtnl_close(rt);
	if (r < 0) {
		cannot(fs, "fwmark-rule", r, &f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rtnl_rule *x = &rules[i];

		if (x->confine || !(x->mask & mask))
			continue;
		add(fs, SEVERITY_WARNING, "fwmark-rule",
		    "This rule reads bits of the packet mark that confine "
		    "owns (MarkMask=). A confined packet carries its "
		    "service's value there, so the rule may match it or stop "
		    "matching it (WireGuard's `not fwmark 0xca6c` rule, a VPN "
		    "client's split tunnel); and whoever sets these bits for "
		    "the rule has them changed under it by confine.",
		    "Give confine a MarkMask= that no one else uses (for "
		    "example 0x00ff0000 next to WireGuard and Kubernetes), or "
		    "change the other tool's mark and mask.",
		    "%s ip rule pref %" PRIu32 " %sfwmark 0x%" PRIx32
		    "/0x%" PRIx32 " lookup %" PRIu32 " (protocol %u) "
		    "overlaps MarkMask 0x%08" PRIx32,
		    x->family == AF_INET ? "IPv4" : "IPv6", x->priority,
		    x->invert ? "not " : "", x->mark, x->mask, x->table,
		    x->protocol, mask);
	}
}

static void check_nft_marks(struct findings *fs, struct nft *nft, uint32_t mask)
{
	_cleanup_free_ struct nft_mark_setter *setters = NULL;
	struct failure f = { 0 };
	size_t n = 0;
	int r = nft_mark_setters(nft, &setters, &n, &f);

	if (r < 0) {
		cannot(fs, "nft-mark", r, &f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct nft_mark_setter *s = &setters[i];

		if (!(s->bits & mask))
			continue;
		add(fs, SEVERITY_WARNING, "nft-mark",
		    "A rule that changes confine's bits of the mark after "
		    "confine's output chain (priority mangle) has marked a "
		    "packet sends it past the service's routing table; one "
		    "that runs before it has its bits overwritten by "
		    "confine. Either way one of the two tools routes wrong.",
		    "Have the rule keep confine's bits (meta mark set meta "
		    "mark & 0xMASK | VALUE, with confine's bits outside "
		    "0xMASK and VALUE), or give confine a MarkMask= that the "
		    "rule does not touch.",
		    "%s in table %s %s chain %s (handle %" PRIu64
		    ") may change mark bits 0x%08" PRIx32
		    ", which overlap MarkMask 0x%08" PRIx32,
		    s->how, nft_family_name(s->family), s->table, s->chain,
		    s->handle, s->bits, mask);
	}
}

/* ---- routes and reverse-path filtering ------------------------------ */

/* The effective rp_filter of an interface: the higher of all and its own. */
static int rp_filter_of(const char *ifname)
{
	char name[128];
	int all = 0, dev = 0;

	sysctl_read_int("net/ipv4/conf/all/rp_filter", &all);
	snprintf(name, sizeof(name), "net/ipv4/conf/%s/rp_filter", ifname);
	sysctl_read_int(name, &dev);
	return all > dev ? all : dev;
}

/* The Route= of svc that covers dst, or NULL. */
static const struct route *covering_route(const struct service *svc,
					  const struct prefix *dst)
{
	for (size_t i = 0; i < svc->n_routes; i++)
		if (prefix_inside(dst, &svc->routes[i].dst))
			return &svc->routes[i];
	return NULL;
}

static int route_oif(struct rtnl *rtnl, const struct route *rt)
{
	struct route_lookup lk;

	if (rt->dev[0])
		return (int)if_nametoindex(rt->dev);
	if (rt->has_gateway &&
	    rtnl_route_lookup(rtnl, rt->dst.family, &rt->gateway, 0, &lk,
			      NULL) == 0)
		return lk.oif;
	return 0;
}

static void check_routes(struct findings *fs, struct rtnl *rtnl,
			 const struct plan *plan)
{
	int valid_mark = 0;

	sysctl_read_int("net/ipv4/conf/all/src_valid_mark", &valid_mark);
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (size_t j = 0; j < svc->n_allows; j++) {
			const struct allow *a = &svc->allows[j];
			const struct route *rt = covering_route(svc, &a->dst);
			struct route_lookup lk = { 0 };
			char desc[160], ifname[IF_NAMESIZE] = "";
			int r, oif;

			allow_format(a, desc, sizeof(desc));
			r = rtnl_route_lookup(rtnl, a->dst.family, &a->dst.addr,
					      0, &lk, NULL);
			if (!rt && (r < 0 || (lk.type != RTN_UNICAST &&
					      lk.type != RTN_LOCAL)))
				add(fs, SEVERITY_WARNING, "route",
				    "A destination that no Route= of the "
				    "service covers is reached by the host's "
				    "routes (its table throws it to them). "
				    "With none, apply gives the Allow= no "
				    "accepting rule, and the service cannot "
				    "reach it.",
				    "Add a route to it in the main table, or a "
				    "Route= to the service.",
				    "service %s: Allow=%s (%s:%u) has no route "
				    "in the main table: %s",
				    svc->name, desc, svc->file, a->line,
				    r < 0 ? strerror(-r) : "not unicast");
			if (!rt || a->dst.family != AF_INET || valid_mark)
				continue;
			/*
			 * A reply to a packet the service's table sent by
			 * another interface than the main table would comes
			 * back by that interface; strict reverse-path
			 * filtering looks its source up without the mark
			 * (src_valid_mark=0), finds the main table's
			 * interface, and drops it.
			 */
			oif = route_oif(rtnl, rt);
			if (!oif || !if_indextoname((unsigned)oif, ifname) ||
			    rp_filter_of(ifname) != 1 ||
			    (r == 0 && lk.oif == oif))
				continue;
			add(fs, SEVERITY_WARNING, "rp-filter",
			    "Strict reverse-path filtering (rp_filter=1) "
			    "checks a reply's source against the routes "
			    "without the packet's mark when "
			    "src_valid_mark=0, so replies that come back by "
			    "the interface a Route= chose, not the one the "
			    "main table names, are dropped.",
			    "sysctl -w net.ipv4.conf.all.src_valid_mark=1 "
			    "(and in /etc/sysctl.d/), or loose filtering: "
			    "net.ipv4.conf.IF.rp_filter=2.",
			    "service %s: Allow=%s leaves by %s (Route= at "
			    "%s:%u), which has rp_filter=1, and "
			    "net.ipv4.conf.all.src_valid_mark=0",
			    svc->name, desc, ifname, svc->file, rt->line);
		}
	}
}

/* ---- exclusive services --------------------------------------------- */

static bool any_exclusive(const struct plan *plan, const struct nft_state *st)
{
	for (size_t i = 0; plan && i < plan->n_services; i++)
		if (plan->services[i].exclusive)
			return true;
	for (size_t i = 0; st && i < st->n_services; i++)
		if (st->services[i].exclusive)
			return true;
	return false;
}

static void check_forwarding(struct findings *fs, const struct plan *plan,
			     const struct nft_state *st)
{
	int v4 = 0, v6 = 0;

	if (!any_exclusive(plan, st))
		return;
	sysctl_read_int("net/ipv4/ip_forward", &v4);
	sysctl_read_int("net/ipv6/conf/all/forwarding", &v6);
	if (!v4 && !v6)
		return;
	add(fs, SEVERITY_INFO, "forwarding",
	    "This host routes packets for others (containers, VMs, a LAN). "
	    "confine's forward chain refuses forwarded packets to "
	    "exclusive destinations, as it refuses local processes: a guest "
	    "that must reach one needs a service of its own on its own "
	    "host.",
	    "Nothing, if that is what you want; otherwise do not make the "
	    "destination exclusive.",
	    "forwarding is on (net.ipv4.ip_forward=%d, "
	    "net.ipv6.conf.all.forwarding=%d) and a service is exclusive",
	    v4, v6);
}

/* ---- the refusal log ------------------------------------------------- */

static bool any_logging(const struct plan *plan, const struct nft_state *st)
{
	for (size_t i = 0; plan && i < plan->n_services; i++)
		if (service_log(plan, &plan->services[i]).on)
			return true;
	for (size_t i = 0; st && i < st->n_services; i++)
		if (st->services[i].log.on)
			return true;
	return false;
}

/*
 * The kernel writes LOG lines from the initial network namespace only,
 * unless net.netfilter.nf_log_all_netns=1, a sysctl that only the initial
 * namespace has: all_netns is read before --netns is entered (-1: could
 * not be read).
 */
static void check_netns_log(struct findings *fs, const char *netns,
			    int all_netns, const struct plan *plan,
			    const struct nft_state *st)
{
	if (!netns || all_netns != 0 || !any_logging(plan, st))
		return;
	add(fs, SEVERITY_WARNING, "netns-kernel-log",
	    "The kernel drops the log lines of a network namespace other "
	    "than the host's, so that a container cannot flood the host's "
	    "log. LogRefused= then writes nothing to the kernel log; confine "
	    "watch still sees every refusal.",
	    "sysctl -w net.netfilter.nf_log_all_netns=1 (in the host's "
	    "namespace), or read the refusals with confine watch.",
	    "a service of network namespace %s logs its refusals, and "
	    "net.netfilter.nf_log_all_netns is 0",
	    netns);
}

static void check_exclusive_xcast(struct findings *fs, const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (size_t j = 0; svc->exclusive && j < svc->n_allows; j++) {
			const struct allow *a = &svc->allows[j];
			char desc[160];

			if (!(a->proto == L4_ANY ||
			      (a->proto == L4_UDP && !a->port_min &&
			       !a->port_max)))
				continue;
			allow_format(a, desc, sizeof(desc));
			add(fs, SEVERITY_WARNING, "exclusive-broadcast",
			    "An exclusive service's UDP ports are refused to "
			    "every other process also at broadcast and "
			    "multicast addresses, since such a datagram "
			    "reaches a server without naming its address. "
			    "Without a port that is every UDP port: DHCP, "
			    "mDNS, SSDP and NTP broadcast of every other "
			    "process are refused.",
			    "Give the Allow= a protocol and port (Allow=udp "
			    "10.0.0.1:514), or drop Exclusive=yes.",
			    "service %s: Allow=%s (%s:%u) is exclusive and "
			    "names no port",
			    svc->name, desc, svc->file, a->line);
		}
	}
}

/* ---- host hardening ------------------------------------------------- */

/* How the kernel combines conf/all and conf/IF (net/ipv4/devinet.c). */
enum combine { COMBINE_AND, COMBINE_OR, COMBINE_MAX };

struct knob {
	const char *name;
	enum combine combine;
	int advised;
	enum severity severity;
	const char *why;
};

static const struct knob knobs[] = {
	{ "accept_source_route", COMBINE_AND, 0, SEVERITY_WARNING,
	  "A source-routed packet names the path its replies take; accepted, "
	  "it lets a peer steer traffic around the routes that confine "
	  "and the host set." },
	{ "accept_redirects", COMBINE_OR, 0, SEVERITY_WARNING,
	  "An ICMP redirect makes the kernel send a destination's packets "
	  "to another gateway than its routes say, for every process; a "
	  "forged one can move an allowed destination's traffic past a "
	  "service's Route=." },
	{ "send_redirects", COMBINE_OR, 0, SEVERITY_INFO,
	  "A host that is not a router has no reason to tell others to "
	  "route elsewhere." },
	{ "rp_filter", COMBINE_MAX, 1, SEVERITY_INFO,
	  "Reverse-path filtering drops packets with spoofed sources. "
	  "Strict (1) needs net.ipv4.conf.all.src_valid_mark=1 beside a "
	  "Route= that sends a service by another interface; loose (2) "
	  "does not." },
	{ "log_martians", COMBINE_OR, 1, SEVERITY_INFO,
	  "Logs packets with impossible addresses, which are often the "
	  "first sign of spoofing." },
};

static int combined(enum combine c, int all, int dev)
{
	switch (c) {
	case COMBINE_AND:
		return all && dev;
	case COMBINE_OR:
		return all || dev;
	default:
		return all > dev ? all : dev;
	}
}

static void check_knob(struct findings *fs, const struct knob *k, char **ifs,
		       size_t n_ifs, bool forwarding)
{
	char name[160], list[512] = "";
	enum combine c = k->combine;
	size_t len = 0, bad = 0;
	int all = 0, dflt = 0;

	/* With forwarding on, redirects count only where both agree. */
	if (strcmp(k->name, "accept_redirects") == 0 && forwarding)
		c = COMBINE_AND;
	snprintf(name, sizeof(name), "net/ipv4/conf/all/%s", k->name);
	if (sysctl_read_int(name, &all) < 0)
		return;
	snprintf(name, sizeof(name), "net/ipv4/conf/default/%s", k->name);
	sysctl_read_int(name, &dflt);
	for (size_t i = 0; i < n_ifs; i++) {
		int dev = 0, eff;

		if (!strcmp(ifs[i], "all") || !strcmp(ifs[i], "default"))
			continue;
		snprintf(name, sizeof(name), "net/ipv4/conf/%s/%s", ifs[i],
			 k->name);
		if (sysctl_read_int(name, &dev) < 0)
			continue;
		eff = combined(c, all, dev);
		/* rp_filter: loose (2) is as good as strict here. */
		if (k->advised ? eff != 0 : eff == 0)
			continue;
		/* Loopback never sees forged sources or redirects. */
		if (strcmp(ifs[i], "lo") == 0)
			continue;
		bad++;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						" %s", ifs[i]);
	}
	if (!bad)
		return;
	snprintf(name, sizeof(name), "hardening.%s", k->name);
	{
		char fix[512];

		snprintf(fix, sizeof(fix),
			 "sysctl -w net.ipv4.conf.all.%s=%d "
			 "net.ipv4.conf.default.%s=%d%s, and the same in "
			 "/etc/sysctl.d/ to keep it.",
			 k->name, k->advised, k->name, k->advised,
			 k->combine == COMBINE_AND ?
				 "" :
				 " and each interface's net.ipv4.conf.IF too");
		add(fs, k->severity, name, k->why, fix,
		    "net.ipv4.conf.all.%s=%d, default=%d; in effect%s on:%s "
		    "(advised: %d)",
		    k->name, all, dflt, k->advised ? " as 0" : "", list,
		    k->advised);
	}
}

static void check_hardening(struct findings *fs)
{
	char **ifs = NULL;
	size_t n_ifs = 0;
	int fwd = 0;

	sysctl_read_int("net/ipv4/ip_forward", &fwd);
	if (sysctl_list("net/ipv4/conf", &ifs, &n_ifs) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++)
		check_knob(fs, &knobs[i], ifs, n_ifs, fwd);
	sysctl_names_free(ifs, n_ifs);
	if (fwd)
		add(fs, SEVERITY_INFO, "hardening.ip_forward",
		    "A host that forwards is a router: packets from its other "
		    "networks pass it, and only confine's forward chain (for "
		    "exclusive destinations) and your own rules hold them.",
		    "sysctl -w net.ipv4.ip_forward=0, unless the host routes "
		    "for containers, VMs or a network.",
		    "net.ipv4.ip_forward=1 (advised: 0)");
}

/* ---- the whole run -------------------------------------------------- */

int engine_doctor(const struct doctor_options *o, struct findings *out,
		  struct failure *f)
{
	struct nft_state st = { 0 };
	struct nft *nft = NULL;
	struct rtnl *rtnl = NULL;
	struct failure nf = { 0 };
	bool have_state = false;
	uint32_t mask;
	int r, all_netns;

	*out = (struct findings){ 0 };
	/* What does not depend on the network namespace comes first. */
	check_kernel(out);
	check_cgroup2(out);
	check_nftables_service(out, o->root ? o->root : "");
	if (sysctl_read_int("net/netfilter/nf_log_all_netns", &all_netns) < 0)
		all_netns = -1;
	if (o->netns) {
		r = netns_enter(o->netns, f);
		if (r < 0)
			return r;
	}

	r = nft_open(&nft, &nf);
	if (r == 0) {
		r = nft_probe_socket_cgroup(nft, &nf);
		if (r == -ENOENT || r == -EOPNOTSUPP)
			add(out, SEVERITY_ERROR, "nft-socket-cgroupv2",
			    "confine matches a service's packets with `socket "
			    "cgroupv2` in a route chain at the output hook; "
			    "a kernel without it refuses apply.",
			    "Use Linux 5.13 or later with CONFIG_NFT_SOCKET.",
			    "the kernel refused `socket cgroupv2 level 1` in "
			    "an output route chain: %s%s%s%s",
			    strerror(-r), nf.kernel_msg[0] ? " (kernel: " : "",
			    nf.kernel_msg, nf.kernel_msg[0] ? ")" : "");
		else if (r < 0)
			cannot(out, "nft-socket-cgroupv2", r, &nf);
		nf = (struct failure){ 0 };
		r = nft_read_state(nft, &st, &nf);
		have_state = r == 0;
		if (r < 0)
			cannot(out, "nft-state", r, &nf);
	} else {
		cannot(out, "nft-socket-cgroupv2", r, &nf);
	}

	mask = o->plan			  ? o->plan->mark_mask :
	       have_state && st.mark_mask ? st.mark_mask :
					    DEFAULT_MARK_MASK;
	check_fwmark_rules(out, mask);
	if (nft)
		check_nft_marks(out, nft, mask);

	if (o->plan) {
		nf = (struct failure){ 0 };
		r = rtnl_open(&rtnl, &nf);
		if (r == 0)
			check_routes(out, rtnl, o->plan);
		else
			cannot(out, "route", r, &nf);
		check_exclusive_xcast(out, o->plan);
	}
	check_forwarding(out, o->plan, have_state ? &st : NULL);
	check_netns_log(out, o->netns, all_netns, o->plan,
			have_state ? &st : NULL);
	check_hardening(out);

	rtnl_close(rtnl);
	if (have_state)
		nft_state_free(&st);
	nft_close(nft);
	return 0;
}
