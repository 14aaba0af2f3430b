#pragma once

/*
 * `confine doctor`: what on this host makes confinement fail or leak,
 * found by trying kernel features and by reading the host's routing,
 * nf_tables ruleset and tunables. Plain data for confine/ to print; the
 * engine never prints.
 */

#include <stddef.h>

#include "common/failure.h"
#include "policy/plan.h"

enum severity {
	SEVERITY_INFO, /* worth knowing; nothing fails */
	SEVERITY_WARNING, /* a policy may fail or leak here */
	SEVERITY_ERROR, /* confinement cannot work, or does not hold */
};

/* One finding; every string is malloc'd. */
struct finding {
	enum severity severity;
	char check[40]; /* "rp-filter", "hardening.accept_redirects" */
	char *found; /* what is on this host */
	char *why; /* why it matters */
	char *fix; /* what to do */
};

struct findings {
	struct finding *items;
	size_t n;
	int err; /* -ENOMEM when a finding was lost */
};

void findings_free(struct findings *fs);
/* "info", "warning", "error" */
const char *severity_name(enum severity s);

struct doctor_options {
	const char *netns; /* NULL: the current network namespace */
	const struct plan *plan; /* NULL: no policy, only host checks */
	/*
	 * Prefixed to the host files doctor reads to find nftables.service
	 * (/lib/systemd/system/..., /etc/nftables.conf); "" for the host.
	 */
	const char *root;
};

/*
 * Runs every check, leaving its findings in out. Returns 0, or -errno
 * with f filled when it could not check at all (the namespace cannot be
 * entered); a single check that cannot be made is itself a finding.
 */
int engine_doctor(const struct doctor_options *o, struct findings *out,
		  struct failure *f);
