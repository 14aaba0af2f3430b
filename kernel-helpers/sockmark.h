#pragma once

/*
 * Socket marks from birth: two small cgroup BPF programs, loaded with the
 * bpf() system call, attached to a service's cgroup.
 *   - BPF_CGROUP_INET_SOCK_CREATE sets the service's mark on every inet
 *     socket created in the cgroup (or below), as LIDS's NF_MARK did, so
 *     that the very first route lookup of a connect() or sendto() already
 *     uses the service's routing table and picks its source address.
 *   - BPF_CGROUP_SOCK_OPS clears the mark again when a TCP socket starts
 *     listening: the connections it accepts answer peers the policy does
 *     not list, which the service's table would not route.
 * Programs are attached with BPF_F_ALLOW_MULTI, beside anyone else's, and
 * recognised by their names, which carry the mark (cfn_m_14000000).
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/failure.h"

/*
 * Attaches the programs for mark to the cgroup directory cgroup_path,
 * unless they are attached already; detaches confine's programs for any
 * other mark after the new ones are in. *attached is true when this call
 * attached something (for undo).
 */
int sockmark_attach(const char *cgroup_path, uint32_t mark, bool *attached,
		    struct failure *fail);
/* *in_force: both programs for mark are attached to cgroup_path. */
int sockmark_check(const char *cgroup_path, uint32_t mark, bool *in_force,
		   struct failure *fail);
/* Detaches every program of confine's from cgroup_path. */
int sockmark_detach(const char *cgroup_path, struct failure *fail);
