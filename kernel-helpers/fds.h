#pragma once

/*
 * The file descriptors a process holds, seen as a way out of confinement:
 * a descriptor made outside the service keeps what its maker had. An inet
 * socket keeps its maker's cgroup, so its packets are not the service's; a
 * netlink socket keeps its opener's credentials; a directory opened in the
 * host's mount namespace walks the host's mount tree (and its cgroup2
 * mount's cgroup.procs) whatever namespace its holder is in.
 */

#include <stdbool.h>
#include <stddef.h>

/* One descriptor that a confined program must not hold. */
struct fd_refusal {
	int fd;
	char what[192]; /* "an inet socket (UDP, IPv4)", "a directory (/)" */
	char why[160]; /* what it would let the program do */
};

/*
 * Lists the calling process's open descriptors that a confined program
 * must not inherit (*out is malloc'd, *n may be 0). Every inet socket is
 * one, a listening one too: connect(AF_UNSPEC) turns it back into one that
 * connects anywhere, still as whoever made it. Returns 0 or -errno.
 */
int fds_unsafe(struct fd_refusal **out, size_t *n);
