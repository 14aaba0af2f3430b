// SPDX-License-Identifier: GPL-2.0-or-later
/* Warnings about a plan as this host sees it; see engine.h. */

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/engine.h"

static bool allowed_address(const struct service *svc, int family,
			    const union inet_addr *a)
{
	for (size_t i = 0; i < svc->n_allows; i++)
		if (prefix_contains(&svc->allows[i].dst, family, a))
			return true;
	return false;
}

/*
 * Exclusive= covers the addresses listed, while the host behind them may
 * answer on others too (its IPv6 link-local address, a second address on
 * the same link), which other processes then still reach. The neighbour
 * table shows them: the same link-layer address on the same interface.
 */
/* Other addresses of neighbour nb's host (same link-layer address). */
static size_t aliases(const struct rtnl_neighbour *all, size_t n,
		      const struct rtnl_neighbour *nb,
		      const struct service *svc, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		char addr[INET6_ADDRSTRLEN];

		if (all[i].ifindex != nb->ifindex ||
		    all[i].lladdr_len != nb->lladdr_len ||
		    memcmp(all[i].lladdr, nb->lladdr, nb->lladdr_len) != 0 ||
		    allowed_address(svc, all[i].family, &all[i].addr))
			continue;
		inet_ntop(all[i].family, &all[i].addr, addr, sizeof(addr));
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					len ? ", " : "", addr);
	}
	return len;
}

void lint_exclusive_aliases(struct engine *s, const struct plan *plan,
			    struct notes *notes)
{
	_cleanup_free_ struct rtnl_neighbour *nb = NULL;
	size_t n = 0;

	if (rtnl_neighbours(s->rtnl, &nb, &n, NULL) < 0)
		return; /* only a warning is lost */
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (size_t k = 0; svc->exclusive && k < n; k++) {
			char dst[INET6_ADDRSTRLEN], others[512], ll[100] = "";
			char ifname[IF_NAMESIZE] = "?";
			const struct allow *a = NULL;
			size_t len = 0;

			for (size_t j = 0; j < svc->n_allows && !a; j++)
				if (prefix_contains(&svc->allows[j].dst,
						    nb[k].family, &nb[k].addr))
					a = &svc->allows[j];
			if (!a || !aliases(nb, n, &nb[k], svc, others,
					   sizeof(others)))
				continue;
			for (size_t b = 0; b < nb[k].lladdr_len; b++)
				len += (size_t)snprintf(ll + len,
							sizeof(ll) - len,
							"%s%02x", b ? ":" : "",
							nb[k].lladdr[b]);
			if_indextoname((unsigned)nb[k].ifindex, ifname);
			inet_ntop(nb[k].family, &nb[k].addr, dst, sizeof(dst));
			notes_add(
				notes,
				"%s:%u: warning: service %s is exclusive for "
				"%s, but the same link-layer address (%s) on "
				"%s also answers for %s; other processes reach "
				"that host there: list those addresses in "
				"Allow= too",
				svc->file, a->line, svc->name, dst, ll, ifname,
				others);
		}
	}
}
