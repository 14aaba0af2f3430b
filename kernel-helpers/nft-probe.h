#pragma once

/*
 * nf_tables as `confine doctor` asks it: whether the kernel takes the
 * rule confine depends on, and who else sets packet marks. Nothing here
 * touches `inet confine`.
 */

#include <stddef.h>
#include <stdint.h>

#include "common/failure.h"
#include "kernel-helpers/nft.h"

/*
 * Whether the kernel takes `socket cgroupv2 level 1` in a route chain at
 * the output hook (Linux 5.13, CONFIG_NFT_SOCKET), by adding it in a
 * throwaway table `inet confine_probe` and deleting that table again.
 * -ENOENT or -EOPNOTSUPP (the kernel's answer) when it does not.
 */
int nft_probe_socket_cgroup(struct nft *n, struct failure *fail);

/* A rule outside `inet confine` that sets the packet mark. */
struct nft_mark_setter {
	uint32_t family; /* NFPROTO_* */
	char table[64];
	char chain[64];
	uint64_t handle;
	/*
	 * The mark bits the rule may change: for `meta mark set meta mark |
	 * 0x4000` (how iptables-nft writes `-j MARK --set-xmark`), 0x4000;
	 * for a mark set from a constant or from anything else, every bit.
	 */
	uint32_t bits;
	const char *how; /* "meta mark set", "iptables MARK target" */
};

/* Every such rule of every table and family. *out is malloc'd. */
int nft_mark_setters(struct nft *n, struct nft_mark_setter **out, size_t *n_out,
		     struct failure *fail);

/* "ip", "ip6", "inet", "arp", "bridge", "netdev" */
const char *nft_family_name(uint32_t family);
