// SPDX-License-Identifier: GPL-2.0-or-later
/* See inet.h. */

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/inet.h"

size_t inet_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

bool prefix_contains(const struct prefix *p, int family,
		     const union inet_addr *a)
{
	size_t bits = p->len;

	if (p->family != family)
		return false;
	for (size_t i = 0; i < bits / 8; i++)
		if (p->addr.bytes[i] != a->bytes[i])
			return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((p->addr.bytes[bits / 8] & mask) !=
		    (a->bytes[bits / 8] & mask))
			return false;
	}
	return true;
}

bool prefix_inside(const struct prefix *inner, const struct prefix *outer)
{
	return inner->len >= outer->len &&
	       prefix_contains(outer, inner->family, &inner->addr);
}

bool prefix_overlaps(const struct prefix *a, const struct prefix *b)
{
	return prefix_inside(a, b) || prefix_inside(b, a);
}

void prefix_mask(const struct prefix *p, uint8_t *mask)
{
	memset(mask, 0, inet_addr_len(p->family));
	for (size_t bit = 0; bit < p->len; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

struct prefix prefix_network(const struct prefix *p)
{
	struct prefix n = *p;
	uint8_t mask[16];

	prefix_mask(p, mask);
	for (size_t i = 0; i < inet_addr_len(p->family); i++)
		n.addr.bytes[i] &= mask[i];
	return n;
}

struct inet_range prefix_range(const struct prefix *p)
{
	struct inet_range r = { .family = p->family };
	uint8_t mask[16];

	prefix_mask(p, mask);
	for (size_t i = 0; i < inet_addr_len(p->family); i++) {
		r.start.bytes[i] = p->addr.bytes[i] & mask[i];
		r.end.bytes[i] = p->addr.bytes[i] | (uint8_t)~mask[i];
	}
	return r;
}

bool range_overlaps(const struct inet_range *a, const struct inet_range *b)
{
	size_t alen = inet_addr_len(a->family);

	return a->family == b->family &&
	       memcmp(a->start.bytes, b->end.bytes, alen) <= 0 &&
	       memcmp(b->start.bytes, a->end.bytes, alen) <= 0;
}

bool range_contains(const struct inet_range *outer,
		    const struct inet_range *inner)
{
	size_t alen = inet_addr_len(outer->family);

	return outer->family == inner->family &&
	       memcmp(outer->start.bytes, inner->start.bytes, alen) <= 0 &&
	       memcmp(inner->end.bytes, outer->end.bytes, alen) <= 0;
}

void prefix_format(const struct prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr.bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (p->len == inet_addr_len(p->family) * 8)
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%u", a, p->len);
}
