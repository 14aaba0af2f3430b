// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A service chain's comment, written by nft_comment_format() and read back
 * by nft_comment_parse(): every field, the longest name, the characters a
 * name may hold, and text that is not confine's. No privileges needed.
 */

#include <stdio.h>
#include <string.h>

#include <libnftnl/udata.h>

#include "kernel-helpers/nft.h"

static int failures;

static void expect(bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static void round_trip(const struct nft_chain_comment *c, const char *what)
{
	char buf[NFTNL_UDATA_COMMENT_MAXLEN];
	struct nft_chain_comment back;

	memset(&back, 0xa5, sizeof(back));
	expect(nft_comment_format(c, buf, sizeof(buf)) == 0 &&
		       nft_comment_parse(buf, &back) &&
		       strcmp(back.name, c->name) == 0 &&
		       back.mark_value == c->mark_value &&
		       back.mask == c->mask && back.table == c->table &&
		       back.exclusive == c->exclusive &&
		       back.digest == c->digest && back.log.on == c->log.on &&
		       (!c->log.on || (back.log.rate == c->log.rate &&
				       back.log.unit == c->log.unit &&
				       back.log.burst == c->log.burst)),
	       what);
}

int main(void)
{
	struct nft_chain_comment c = { .mark_value = 0x14,
				       .mask = 0xff000000,
				       .table = 20,
				       .exclusive = true,
				       .digest = 0x0a1b2c3d };
	struct nft_chain_comment out;
	char buf[NFTNL_UDATA_COMMENT_MAXLEN];

	snprintf(c.name, sizeof(c.name), "syslog");
	round_trip(&c, "every field of an exclusive service");
	c.exclusive = false;
	c.mark_value = 0xffff;
	c.mask = 0xffff0000;
	c.table = 4294967295u;
	c.digest = 0xffffffff;
	round_trip(&c, "largest values, not exclusive");
	c.digest = 0;
	c.mark_value = 1;
	round_trip(&c, "a digest of 0 (printed with leading zeroes)");
	memset(c.name, 'n', NFT_SERVICE_NAME_MAX);
	c.name[NFT_SERVICE_NAME_MAX] = '\0';
	round_trip(&c, "a name of the maximum length");
	snprintf(c.name, sizeof(c.name), "web-1.front_end");
	round_trip(&c, "a name with '-', '.' and '_'");
	c.log = (struct nft_log){ true, 6, 60, 10 };
	round_trip(&c, "a service that logs its refusals");
	c.log = (struct nft_log){ true, 100000, 86400, 100000 };
	round_trip(&c, "the largest log settings");
	expect(!nft_comment_parse("confine x mark=0x1 mask=0xff000000 "
				  "table=20 exclusive=no digest=1 log=6/60",
				  &out),
	       "a log without its burst");
	expect(!nft_comment_parse("confine x mark=0x1 mask=0xff000000 "
				  "table=20 exclusive=no digest=1 log=0/60/1",
				  &out),
	       "a log rate of 0");

	nft_log_prefix("syslog", buf, sizeof(buf));
	expect(strcmp(buf, "confine syslog REJECT: ") == 0,
	       "the log prefix names the service and the verdict");
	expect(nft_log_prefix_parse(buf, out.name, sizeof(out.name)) &&
		       strcmp(out.name, "syslog") == 0,
	       "the log prefix is read back");
	expect(!nft_log_prefix_parse("ufw BLOCK: ", out.name, sizeof(out.name)),
	       "another tool's prefix is not confine's");
	expect(!nft_log_prefix_parse("confine a\"b\x1b REJECT: ", out.name,
				     sizeof(out.name)),
	       "a prefix whose name is not a service name's characters");

	nft_comment_format(&c, buf, sizeof(buf));
	expect(nft_comment_format(&c, buf, 20) < 0,
	       "a buffer too small is refused, not cut");
	expect(!nft_comment_parse("someone else's chain", &out),
	       "someone else's comment is not a service");
	expect(!nft_comment_parse("confine x mark=0x1 mask=0xff000000 "
				  "table=20 exclusive=maybe digest=1",
				  &out),
	       "exclusive= other than yes or no");
	expect(!nft_comment_parse("confine x mark=0x1 mask=0xff000000 "
				  "table=20 exclusive=no digest=1 extra",
				  &out),
	       "trailing words");
	expect(!nft_comment_parse("confine x mark=0x1 mask=0xff000000 "
				  "table=-2 exclusive=no digest=1",
				  &out),
	       "a negative table");
	snprintf(buf, sizeof(buf),
		 "confine %0*d mark=0x1 mask=0xff000000 table=20 "
		 "exclusive=no digest=1",
		 NFT_SERVICE_NAME_MAX + 1, 0);
	expect(!nft_comment_parse(buf, &out), "a name one too long");
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
