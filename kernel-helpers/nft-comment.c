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
	if (!key(&s, "digest") || !number(&s, 16, &c.digest) || *s)
		return false;
	*out = c;
	return true;
}
