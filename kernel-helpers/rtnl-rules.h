#pragma once

/*
 * Everyone's ip rules that match the packet mark, read over rtnetlink for
 * `confine doctor` (rtnl.c reads and changes only confine's own).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/failure.h"

struct fwmark_rule {
	int family; /* AF_INET or AF_INET6 */
	uint32_t priority;
	uint32_t mark, mask; /* mask 0xffffffff when the rule gave none */
	uint32_t table;
	uint8_t protocol; /* RTPROT_CONFINE for confine's */
	bool invert; /* `not fwmark ...` */
};

/* The fwmark rules of both families. *out is malloc'd. */
int rtnl_fwmark_rules(struct fwmark_rule **out, size_t *n,
		      struct failure *fail);
