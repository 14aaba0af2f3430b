#pragma once

/*
 * IP addresses, prefixes and address ranges, and the arithmetic on them
 * that the parser, the engine and the kernel helpers share. Plain data:
 * nothing here knows of policies or of the kernel.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

union inet_addr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t bytes[16];
};

struct prefix {
	int family; /* AF_INET or AF_INET6 */
	union inet_addr addr; /* host bits are zero */
	uint8_t len;
};

/* A range of addresses, first to last, both included. */
struct inet_range {
	int family;
	union inet_addr start, end;
};

/* 4 for AF_INET, 16 for AF_INET6. */
size_t inet_addr_len(int family);

/* Whether address a of family lies inside prefix p. */
bool prefix_contains(const struct prefix *p, int family,
		     const union inet_addr *a);
/* inner lies wholly inside outer. */
bool prefix_inside(const struct prefix *inner, const struct prefix *outer);
/* a and b share at least one address. */
bool prefix_overlaps(const struct prefix *a, const struct prefix *b);
/* The network mask of p, inet_addr_len() bytes. */
void prefix_mask(const struct prefix *p, uint8_t *mask);
/* p with its host bits cleared. */
struct prefix prefix_network(const struct prefix *p);
/* The first and last address of p. */
struct inet_range prefix_range(const struct prefix *p);

bool range_overlaps(const struct inet_range *a, const struct inet_range *b);
bool range_contains(const struct inet_range *outer,
		    const struct inet_range *inner);

/* "10.0.0.0/8", "fd00::1" (no /len for a host prefix) */
void prefix_format(const struct prefix *p, char *buf, size_t size);
