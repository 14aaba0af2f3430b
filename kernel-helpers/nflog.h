#pragma once

/*
 * Reading NFLOG events (nfnetlink_log) with libmnl: one socket bound to
 * one group, which gets each logged packet's prefix, the uid and gid of
 * its socket and its first bytes. Events lost on the way (the kernel could
 * not queue them, or the socket's buffer overflowed) are counted from the
 * instance's sequence numbers and from ENOBUFS, never skipped silently.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/failure.h"

struct nflog;

struct nflog_event {
	const char *prefix; /* "" when none */
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	const uint8_t *packet; /* from the IP header on */
	size_t len;
	uint32_t oif; /* output interface index, 0 when not given */
};

/*
 * Binds group in the current network namespace. -EBUSY: another reader
 * (a second `confine watch`, ulogd) has the group (the kernel says EPERM;
 * for root that can only mean this).
 */
int nflog_open(struct nflog **out, uint16_t group, uint32_t snaplen,
	       struct failure *fail);
void nflog_close(struct nflog *l);
int nflog_fd(const struct nflog *l);

/*
 * Reads what is waiting (non-blocking) and calls cb for each event. *lost
 * grows by the events the kernel dropped before they reached us; *overrun
 * is set when the socket's buffer overflowed (ENOBUFS) since the last
 * call. Returns 0 or -errno.
 */
int nflog_read(struct nflog *l,
	       void (*cb)(const struct nflog_event *ev, void *data), void *data,
	       uint64_t *lost, bool *overrun);
