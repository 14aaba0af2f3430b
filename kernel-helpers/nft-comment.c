// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A service chain's comment: the one place where confine keeps what a
 * service was installed with (the kernel is the only state). Written and
 * read here, side by side, so that the two cannot drift apart.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-helpers/nft.h"

#define COMMENT_TAG "confine"

int nft_comment_format(const struct nft_chain_comment *c, char *buf,
		       size_t size)
{
	int n = snprintf(buf, size,
			 COMMENT_TAG " %s mark=0x%" PRIx32 " mask=0x%08" PRIx32
				     " table=%" PRIu32
				     " exclusive=%s digest=%08" PRIx32,
			 c->name, c->mark_value, c->mask, c->table,
			 c->exclusive ? "yes" : "no", c->digest);

	if (n >= 0 && (size_t)n < size && c->log.on)
		n += snprintf(buf + n, size - (size_t)n,
			      " log=%" PRIu32 "/%" PRIu32 "/%" PRIu32,
			      c->log.rate, c->log.unit, c->log.burst);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* "KEY=" at *s: *s moves past it; false when another word is there. */
static bool key(const char **s, const char *k)
{
	size_t len = strlen(k);

	if (strncmp(*s, k, len) != 0 || (*s)[len] != '=')
		return false;
	*s += len + 1;
	return true;
}

/* A number in base at *s, up to the next space or the end. */
static bool number(const char **s, int base, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!(base == 16 ? isxdigit((unsigned char)**s) :
			   isdigit((unsigned char)**s))) /* no sign or space */
		return false;
	errno = 0;
	v = strtoull(*s, &end, base);
	if (errno || v > UINT32_MAX || (*end && *end != ' '))
		return false;
	*out = (uint32_t)v;
	*s = *end ? end + 1 : end;
	return true;
}

bool nft_comment_parse(const char *s, struct nft_chain_comment *out)
{
	struct nft_chain_comment c = { 0 };
	const char *space;
	size_t len;

	if (strncmp(s, COMMENT_TAG " ", strlen(COMMENT_TAG) + 1) != 0)
		return false;
	s += strlen(COMMENT_TAG) + 1;
	space = strchr(s, ' ');
	len = space ? (size_t)(space - s) : 0;
	if (!len || len > NFT_SERVICE_NAME_MAX)
		return false;
	memcpy(c.name, s, len);
	s = space + 1;
	if (!key(&s, "mark") || strncmp(s, "0x", 2) != 0)
		return false;
	s += 2;
	if (!number(&s, 16, &c.mark_value) || !key(&s, "mask") ||
	    strncmp(s, "0x", 2) != 0)
		return false;
	s += 2;
	if (!number(&s, 16, &c.mask) || !key(&s, "table") ||
	    !number(&s, 10, &c.table) || !key(&s, "exclusive"))
		return false;
	if (strncmp(s, "yes ", 4) == 0) {
		c.exclusive = true;
		s += 4;
	} else if (strncmp(s, "no ", 3) == 0) {
		s += 3;
	} else {
		return false;
	}
	if (!key(&s, "digest") || !number(&s, 16, &c.digest))
		return false;
	/* Written only when the service logs its refusals. */
	if (*s && key(&s, "log")) {
		char *end;

		c.log.on = true;
		errno = 0;
		c.log.rate = (uint32_t)strtoul(s, &end, 10);
		if (*end != '/')
			return false;
		c.log.unit = (uint32_t)strtoul(end + 1, &end, 10);
		if (*end != '/')
			return false;
		c.log.burst = (uint32_t)strtoul(end + 1, &end, 10);
		if (errno || *end || !c.log.rate || !c.log.unit)
			return false;
		s = end;
	}
	if (*s)
		return false;
	*out = c;
	return true;
}

/*
 * The kernel puts the prefix right before "IN=", so it ends with a space.
 * "REJECT" is the verdict, as log analysers read it from iptables
 * prefixes: logwatch's iptables service files such lines as "Rejected".
 */
#define LOG_VERDICT " REJECT: "

void nft_log_prefix(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, COMMENT_TAG " %s" LOG_VERDICT, name);
}

bool nft_log_prefix_parse(const char *prefix, char *name, size_t size)
{
	size_t tag = strlen(COMMENT_TAG " "), len;
	const char *end;

	if (strncmp(prefix, COMMENT_TAG " ", tag) != 0)
		return false;
	prefix += tag;
	end = strstr(prefix, LOG_VERDICT);
	if (!end || end[strlen(LOG_VERDICT)])
		return false;
	len = (size_t)(end - prefix);
	if (!len || len >= size)
		return false;
	/* A service name's characters only: it is printed and put in JSON. */
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)prefix[i]) &&
		    !strchr("_.-", prefix[i]))
			return false;
	memcpy(name, prefix, len);
	name[len] = '\0';
	return true;
}
