#pragma once

/*
 * Watching the kernel for changes to what confine installs: nf_tables
 * (NFNLGRP_NFTABLES) and the IPv4 and IPv6 ip rules and routes (rtnetlink
 * groups), in the network namespace the watch was opened in.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "common/failure.h"

struct nlwatch;

int nlwatch_open(struct nlwatch **out, struct failure *fail);
void nlwatch_close(struct nlwatch *w);

/* What one wait saw, drained of every queued notification. */
struct nlwatch_event {
	bool nft; /* nf_tables changed */
	bool routing; /* an ip rule or route changed */
	bool lost; /* the kernel dropped notifications (ENOBUFS) */
	pid_t pid; /* who committed the last nf_tables change, 0: unknown */
	char comm[32]; /* and its command name, "" when unknown */
};

/*
 * Waits up to timeout_ms (-1: for ever) for notifications. Returns 1 with
 * ev filled when something changed, 0 on timeout, or -errno.
 */
int nlwatch_wait(struct nlwatch *w, int timeout_ms, struct nlwatch_event *ev);
