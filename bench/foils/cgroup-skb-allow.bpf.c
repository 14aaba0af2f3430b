// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The foil that systemd's IPAddressAllow= stands for: a cgroup_skb egress
 * program attached to a service's cgroup that lets a packet leave only if
 * its destination is on the service's allow-list, kept in an LPM trie. As
 * confine's Allow= also names the protocol and port, the key is protocol,
 * destination port and address, in that order, so that a prefix of the
 * key is an exact protocol and port plus an address prefix. Everything
 * else the cgroup sends, IPv6 included, is dropped.
 *
 * Built by bench/packet-cost.sh with clang -target bpf; the entries are
 * written with bpftool: prefix length 24 + address prefix length, then
 * protocol, port and address in network order.
 */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct allow_key {
	__u32 prefixlen;
	__u8 proto;
	__u8 port[2];
	__u8 addr[4];
} __attribute__((packed));

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct allow_key);
	__type(value, __u8);
} allow SEC(".maps");

SEC("cgroup_skb/egress")
int allow_egress(struct __sk_buff *skb)
{
	struct allow_key key = { .prefixlen = 56 };
	struct iphdr ip;
	__u16 ports[2] = { 0, 0 };

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
		return 0;
	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, ip.ihl * 4, ports, sizeof(ports)) <
		    0)
			return 0;
	}
	key.proto = ip.protocol;
	__builtin_memcpy(key.port, &ports[1], 2);
	__builtin_memcpy(key.addr, &ip.daddr, 4);
	return bpf_map_lookup_elem(&allow, &key) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
