#pragma once

/*
 * A service of the plan as the kernel helpers take it: its nf_tables spec
 * and its routing. Internal to the engine, and used by the golden test.
 */

#include "engine/engine.h"

struct lowered {
	struct nft_service_spec nft;
	struct nft_allow *allows; /* owned, one per Allow= */
	char (*descs)[96];
	struct rtnl_service rt;
	struct rtnl_route *routes; /* owned */
	char (*route_descs)[96];
};

/*
 * Lowers svc. oifs (one per Allow=, may be NULL: not pinned, for printing)
 * and cgroups are borrowed and must outlive out.
 */
int lower_service(const struct plan *plan, const struct service *svc,
		  const struct oifs *oifs, const struct nft_cgroup *cgroups,
		  size_t n_cgroups, struct lowered *out);
void lowered_free(struct lowered *l);

/*
 * A digest of everything in svc that shapes its chain, the output
 * interfaces its routing chose included, kept in the chain's comment so
 * that `run` can tell an installed service from an edited one, or from
 * one whose routes have changed since. log (may be NULL: off) is the
 * service's refusal log, so that changing it re-applies the service.
 */
uint32_t service_digest(const struct service *svc, uint32_t mask,
			const struct oifs *oifs, const struct nft_log *log);
