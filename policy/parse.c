// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Policy files: INI, parsed by libinih. inih does not tell a handler the
 * line it is on, so the file is fed through a reader that counts lines:
 * inih asks the reader for exactly one line at a time.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cap-ng.h>
#include <ini.h>

#include "common/cleanup.h"
#include "policy/plan.h"
#include "policy/trust.h"

struct parser {
	struct plan *plan;
	const char *path;
	FILE *f;
	unsigned line;
	struct policy_error *err;
	bool failed;
	int read_errno; /* a read error ended the file early */
	/* The section being read. */
	enum { SEC_NONE, SEC_CONFINE, SEC_SERVICE } section;
	struct service *svc; /* in SEC_SERVICE */
	bool seen_name, seen_exclusive;
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return 0;
	p->failed = true;
	n = snprintf(p->err->msg, sizeof(p->err->msg), "%s:%u: ", p->path,
		     p->line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(p->err->msg))
		vsnprintf(p->err->msg + n, sizeof(p->err->msg) - n, fmt, ap);
	va_end(ap);
	return 0; /* inih: stop */
}

static int section_start(struct parser *p, const char *name);

/*
 * Reads one line into str (num bytes), byte by byte, refusing what inih
 * would take silently: a NUL byte (fgets would hide the rest of the line
 * from inih, so "Name=x\0evil" would read as Name=x), a control character
 * (a terminal shows "Allow=...\rAllow=..." or an escape sequence as
 * something other than what confine reads) and a line that does not fit:
 * without INI_ALLOW_REALLOC, as Debian builds it, inih takes the rest of a
 * long line as a line of its own, which would then be parsed as a key.
 * Returns the number of bytes read, 0 at the end of the file, or -1 on a
 * refusal (p->failed) or a read error (p->read_errno).
 */
static int read_line(struct parser *p, char *str, int num)
{
	/* Room for the newline and the NUL. */
	size_t max = num > 2 ? (size_t)num - 2 : 0, n = 0;
	int c = getc(p->f);

	if (c == EOF) {
		if (ferror(p->f))
			p->read_errno = errno ? errno : EIO;
		return ferror(p->f) ? -1 : 0;
	}
	p->line++;
	for (; c != EOF && c != '\n'; c = getc(p->f)) {
		if (c == '\r') {
			int next = getc(p->f);

			/*
			 * A CR only as the end of a CRLF line, and not kept:
			 * inih would strip it as trailing space anyway.
			 */
			if (next != EOF)
				ungetc(next, p->f);
			if (next == '\n' || next == EOF)
				continue;
			return fail(p,
				    "control character 0x0d (a carriage "
				    "return not ending the line) at column "
				    "%zu; a policy file is plain text",
				    n + 1),
			       -1;
		} else if (c == '\0') {
			return fail(p,
				    "a NUL byte at column %zu; a policy file "
				    "is plain text",
				    n + 1),
			       -1;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return fail(p,
				    "control character 0x%02x at column %zu; "
				    "a policy file is plain text",
				    (unsigned)c, n + 1),
			       -1;
		}
		if (n == max)
			return fail(p, "line longer than %zu characters", max),
			       -1;
		str[n++] = (char)c;
	}
	if (c == EOF && ferror(p->f)) {
		p->read_errno = errno ? errno : EIO;
		return -1;
	}
	if (c == '\n')
		str[n++] = '\n';
	str[n] = '\0';
	return (int)n;
}

/*
 * inih reads through this, one line per call. Section headers are acted on
 * here, because Debian's inih does not report a header to the handler, and
 * two [Service] sections in a row would look like one.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	char *start, *close;

	if (p->failed || read_line(p, str, num) <= 0)
		return NULL;
	start = str + strspn(str, " \t");
	/*
	 * inih reads an indented line as more of the previous key's value:
	 * an indented "CAP_SYS_ADMIN" under KeepCapabilities= would keep it
	 * unseen. Every key starts its own line here.
	 */
	if (start != str && *start && !strchr(";#\r\n", *start)) {
		fail(p, "an indented line would continue the value above it; "
			"start each key at the beginning of its line");
		return NULL;
	}
	if (*start != '[')
		return str;
	close = strchr(start, ']');
	if (!close) {
		fail(p, "expected ']' to close the section name");
		return str;
	}
	*close = '\0';
	section_start(p, start + 1);
	*close = ']';
	return str;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * A port or a prefix length: decimal only. parse_u32() takes C notation for
 * marks and masks, where "0514" would be octal 332; here it is refused.
 */
static bool parse_dec(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/*
 * Inside ::ffff:0:0/96. A socket sends to such an address as IPv4, so a
 * rule or route written for the IPv6 form would never see its packets.
 */
static bool ipv4_mapped(const struct prefix *p)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	return p->family == AF_INET6 && p->len >= 96 &&
	       memcmp(p->addr.bytes, mapped, sizeof(mapped)) == 0;
}

/*
 * ADDR[/LEN], IPv6 optionally in brackets (required by the caller when a
 * port follows). Returns 0, or -EINVAL with *why set.
 */
static int parse_prefix(const char *s, struct prefix *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	size_t len = strlen(s);
	unsigned max;
	uint32_t plen;

	*out = (struct prefix){ 0 };
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']') {
			*why = "an IPv6 address in brackets needs its ']'";
			return -EINVAL;
		}
		s++;
		len -= 2;
	}
	if (len >= sizeof(buf)) {
		*why = "not an IP address";
		return -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &out->addr.v4) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &out->addr.v6) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	plen = max;
	if (slash && !parse_dec(slash, max, &plen)) {
		*why = max == 32 ? "the prefix length must be 0 to 32" :
				   "the prefix length must be 0 to 128";
		return -EINVAL;
	}
	out->len = (uint8_t)plen;
	for (unsigned bit = plen; bit < max; bit++) {
		if (out->addr.bytes[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "host bits are set";
			return -EHOSTUNREACH;
		}
	}
	if (ipv4_mapped(out)) {
		/* out becomes the IPv4 form, for the message. */
		struct prefix v4 = { .family = AF_INET,
				     .len = (uint8_t)(out->len - 96) };

		memcpy(&v4.addr.v4, &out->addr.bytes[12], 4);
		*out = v4;
		*why = "an IPv4-mapped address";
		return -EAFNOSUPPORT;
	}
	return 0;
}

static int prefix_error(struct parser *p, const char *key, const char *value,
			const char *addr, int r, const char *why,
			const struct prefix *parsed)
{
	if (r == -EAFNOSUPPORT) {
		char v4[INET_ADDRSTRLEN + 4];

		prefix_format(parsed, v4, sizeof(v4));
		return fail(p,
			    "%s=%s: %s is an IPv4-mapped address; write it as "
			    "the IPv4 %s %s",
			    key, value, addr,
			    parsed->len == 32 ? "address" : "prefix", v4);
	}
	if (r == -EHOSTUNREACH) {
		struct prefix raw = { 0 };
		char net[INET6_ADDRSTRLEN + 8], buf[INET6_ADDRSTRLEN + 8];
		const char *s = addr;
		size_t len = strlen(s);
		char *slash;

		/* Re-read without the host-bit check to suggest the network. */
		if (s[0] == '[') {
			s++;
			len -= 2;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
		slash = strchr(buf, '/');
		if (slash) {
			*slash = '\0';
			raw.len = (uint8_t)atoi(slash + 1);
		}
		raw.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
		inet_pton(raw.family, buf, raw.addr.bytes);
		raw = prefix_network(&raw);
		prefix_format(&raw, net, sizeof(net));
		return fail(p, "%s=%s: %s has host bits set; did you mean %s?",
			    key, value, addr, net);
	}
	return fail(p, "%s=%s: %s: %s", key, value, addr, why);
}

static int parse_allow(struct parser *p, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	struct allow a = { .line = p->line };
	char *proto, *dst, *port = NULL, *rest;
	const char *why;
	struct allow *grown;
	int r;

	if (!copy)
		return fail(p, "out of memory");
	proto = strtok_r(copy, " \t", &rest);
	dst = strtok_r(NULL, " \t", &rest);
	if (!proto || !dst || strtok_r(NULL, " \t", &rest))
		return fail(
			p,
			"Allow=%s: expected PROTO ADDR[/PREFIX][:PORT[-PORT]], "
			"e.g. Allow=udp 10.99.0.1:514",
			value);
	if (strcmp(proto, "tcp") == 0)
		a.proto = L4_TCP;
	else if (strcmp(proto, "udp") == 0)
		a.proto = L4_UDP;
	else if (strcmp(proto, "icmp") == 0)
		a.proto = L4_ICMP;
	else if (strcmp(proto, "any") == 0)
		a.proto = L4_ANY;
	else
		return fail(p,
			    "Allow=%s: unknown protocol '%s'; expected tcp, "
			    "udp, icmp or any",
			    value, proto);

	/* A port follows the last ':' of IPv4, or the ']' of IPv6. */
	if (dst[0] == '[') {
		char *close = strchr(dst, ']');

		if (close && close[1] == ':') {
			port = close + 2;
			close[1] = '\0';
		} else if (close && close[1]) {
			return fail(p, "Allow=%s: unexpected '%s' after ']'",
				    value, close + 1);
		}
	} else if (strchr(dst, ':')) {
		if (strchr(dst, ':') != strrchr(dst, ':'))
			return fail(p,
				    "Allow=%s: write IPv6 addresses in "
				    "brackets, e.g. [fd00::1]:514",
				    value);
		port = strchr(dst, ':');
		*port++ = '\0';
	}
	r = parse_prefix(dst, &a.dst, &why);
	if (r < 0)
		return prefix_error(p, "Allow", value, dst, r, why, &a.dst);
	if (port) {
		uint32_t lo, hi;
		char *dash = strchr(port, '-');

		if (a.proto != L4_TCP && a.proto != L4_UDP)
			return fail(p,
				    "Allow=%s: a port is only valid with tcp "
				    "or udp",
				    value);
		if (dash)
			*dash = '\0';
		if (!parse_dec(port, 65535, &lo) || lo < 1 ||
		    (dash && (!parse_dec(dash + 1, 65535, &hi) || hi < 1)))
			return fail(p,
				    "Allow=%s: a port is a decimal number from "
				    "1 to 65535",
				    value);
		if (!dash)
			hi = lo;
		if (lo > hi)
			return fail(p,
				    "Allow=%s: the port range %u-%u is "
				    "backwards",
				    value, lo, hi);
		a.port_min = (uint16_t)lo;
		a.port_max = (uint16_t)hi;
	}
	for (size_t i = 0; i < p->svc->n_allows; i++) {
		const struct allow *o = &p->svc->allows[i];

		if (o->proto == a.proto && o->dst.family == a.dst.family &&
		    o->dst.len == a.dst.len &&
		    memcmp(o->dst.addr.bytes, a.dst.addr.bytes, 16) == 0 &&
		    o->port_min == a.port_min && o->port_max == a.port_max)
			return fail(p, "Allow=%s: duplicate of line %u", value,
				    o->line);
	}
	grown = realloc(p->svc->allows,
			(p->svc->n_allows + 1) * sizeof(*grown));
	if (!grown)
		return fail(p, "out of memory");
	p->svc->allows = grown;
	p->svc->allows[p->svc->n_allows++] = a;
	return 1;
}

static int parse_route(struct parser *p, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	struct route ro = { .line = p->line };
	struct prefix gw;
	char *dst, *word, *rest;
	struct route *grown;
	const char *why;
	int r;

	if (!copy)
		return fail(p, "out of memory");
	dst = strtok_r(copy, " \t", &rest);
	if (!dst)
		return fail(p, "Route=: expected DEST via GW [dev IF] or DEST "
			       "dev IF");
	r = parse_prefix(dst, &ro.dst, &why);
	if (r < 0)
		return prefix_error(p, "Route", value, dst, r, why, &ro.dst);
	while ((word = strtok_r(NULL, " \t", &rest))) {
		char *arg = strtok_r(NULL, " \t", &rest);

		if (!arg)
			return fail(p, "Route=%s: '%s' needs a value", value,
				    word);
		if (strcmp(word, "via") == 0 && !ro.has_gateway) {
			size_t len = strlen(arg);

			if (arg[0] == '[' && len > 2 && arg[len - 1] == ']') {
				arg[len - 1] = '\0';
				arg++;
			}
			if (inet_pton(ro.dst.family, arg, ro.gateway.bytes) !=
			    1)
				return fail(p,
					    "Route=%s: gateway %s is not an "
					    "%s address",
					    value, arg,
					    ro.dst.family == AF_INET ? "IPv4" :
								       "IPv6");
			gw = (struct prefix){ .family = ro.dst.family,
					      .addr = ro.gateway,
					      .len = 128 };
			if (ipv4_mapped(&gw)) {
				char v4[INET_ADDRSTRLEN];

				inet_ntop(AF_INET, &ro.gateway.bytes[12], v4,
					  sizeof(v4));
				return fail(p,
					    "Route=%s: %s is an IPv4-mapped "
					    "address; write it as the IPv4 "
					    "address %s",
					    value, arg, v4);
			}
			ro.has_gateway = true;
		} else if (strcmp(word, "dev") == 0 && !ro.dev[0]) {
			if (strlen(arg) >= sizeof(ro.dev) || strchr(arg, '/'))
				return fail(p,
					    "Route=%s: '%s' is not an "
					    "interface name (1 to 15 "
					    "characters)",
					    value, arg);
			snprintf(ro.dev, sizeof(ro.dev), "%s", arg);
		} else {
			return fail(p,
				    "Route=%s: unexpected '%s'; expected "
				    "DEST via GW [dev IF] or DEST dev IF",
				    value, word);
		}
	}
	if (!ro.has_gateway && !ro.dev[0])
		return fail(p,
			    "Route=%s: expected DEST via GW [dev IF] or DEST "
			    "dev IF",
			    value);
	grown = realloc(p->svc->routes,
			(p->svc->n_routes + 1) * sizeof(*grown));
	if (!grown)
		return fail(p, "out of memory");
	p->svc->routes = grown;
	p->svc->routes[p->svc->n_routes++] = ro;
	return 1;
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SERVICE_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/*
 * cgroupfs puts its interface files in every cgroup directory: "cgroup."
 * for the core, "CONTROLLER." for each controller (and "irq." for the
 * pressure file). A cgroup named like one could be taken for it, or stop
 * the controller's file from being created. Case-sensitive, as the kernel.
 */
static const char *reserved_prefix(const char *name, size_t len)
{
	/* irq. is the core's irq.pressure (PSI), not a controller. */
	static const char *const prefixes[] = {
		"cgroup.", "cpu.",     "cpuset.", "io.",  "memory.", "pids.",
		"rdma.",   "hugetlb.", "misc.",	  "irq.", "dmem.",   "debug.",
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t plen = strlen(prefixes[i]);

		if (len >= plen && strncmp(name, prefixes[i], plen) == 0)
			return prefixes[i];
	}
	return NULL;
}

/*
 * A user or group as `run` takes it: a name as useradd(8) makes them, or a
 * number. (uid_t)-1 means "leave unchanged" to setresuid(2), and 65535 is
 * the 16-bit -1; systemd refuses both too.
 */
static bool valid_user(const char *s)
{
	size_t len = strlen(s);

	if (s[0] >= '0' && s[0] <= '9')
		return strspn(s, "0123456789") == len;
	if (len == 0 || len > 32 ||
	    !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	if (s[len - 1] == '$')
		len--;
	for (size_t i = 1; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && !strchr("_-", s[i]))
			return false;
	return true;
}

/* Normalizes a CgroupParent= value in place; false when it is unsafe. */
static bool normalize_parent(char *s)
{
	char *start = s, *w = s;
	size_t len;

	while (*start == '/')
		start++;
	len = strlen(start);
	while (len && start[len - 1] == '/')
		len--;
	if (!len)
		return false;
	memmove(w, start, len);
	w[len] = '\0';
	for (char *c = w; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_.@:-/", *c))
			return false;
	for (char *comp = w; comp;) {
		char *slash = strchr(comp, '/');
		size_t clen = slash ? (size_t)(slash - comp) : strlen(comp);

		if (clen == 0 || (clen == 1 && comp[0] == '.') ||
		    (clen == 2 && comp[0] == '.' && comp[1] == '.'))
			return false;
		comp = slash ? slash + 1 : NULL;
	}
	return true;
}

/* N/second, N/minute, N/hour or N/day; N from 1 to max. */
static bool parse_rate(const char *s, uint32_t max, struct rate *out)
{
	static const struct {
		const char *name;
		uint32_t seconds;
	} units[] = { { "second", 1 },
		      { "minute", 60 },
		      { "hour", 3600 },
		      { "day", 86400 } };
	const char *slash = strchr(s, '/');
	char num[16];
	uint32_t n;

	if (!slash || (size_t)(slash - s) >= sizeof(num))
		return false;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	if (!parse_dec(num, max, &n) || !n)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(slash + 1, units[i].name) == 0) {
			*out = (struct rate){ n, units[i].seconds };
			return true;
		}
	}
	return false;
}

/*
 * The log keys, in [Service] or [Confine] alike. Returns 1 when key was
 * one of them and taken, 0 when it failed, -1 when it is another key.
 */
static int log_key(struct parser *p, const char *key, const char *value,
		   bool *on, unsigned *on_line, struct rate *rate,
		   uint32_t *burst)
{
	if (strcmp(key, "LogRefused") == 0) {
		if (*on_line)
			return fail(p, "LogRefused= given twice in a section");
		if (!parse_bool(value, on))
			return fail(p, "LogRefused=%s: expected yes or no",
				    value);
		*on_line = p->line;
		return 1;
	}
	if (strcmp(key, "LogRate") == 0) {
		if (!parse_rate(value, 100000, rate))
			return fail(p,
				    "LogRate=%s: expected N/second, N/minute, "
				    "N/hour or N/day with N from 1 to 100000, "
				    "such as 6/minute",
				    value);
		return 1;
	}
	if (strcmp(key, "LogBurst") == 0) {
		if (!parse_dec(value, 100000, burst) || !*burst)
			return fail(p,
				    "LogBurst=%s: expected a number of lines "
				    "from 1 to 100000",
				    value);
		return 1;
	}
	return -1;
}

/*
 * OnRefused=/usr/local/bin/alert --mail root: a program by absolute path
 * and its arguments, split at blanks, run without a shell; nothing of a
 * packet is ever added to it (the event is in the environment).
 */
static int parse_on_refused(struct parser *p, const char *value,
			    struct command_line *out)
{
	_cleanup_free_ char *copy = strdup(value);
	struct command_line c = { .line = p->line };
	char *save = NULL;
	size_t n = 0;

	if (!copy)
		return fail(p, "out of memory");
	if (out->argv)
		return fail(p, "OnRefused= given twice in a section");
	c.argv = calloc(strlen(value) / 2 + 2, sizeof(*c.argv));
	if (!c.argv)
		return fail(p, "out of memory");
	for (char *w = strtok_r(copy, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		c.argv[n] = strdup(w);
		if (!c.argv[n++]) {
			command_line_free(&c);
			return fail(p, "out of memory");
		}
	}
	if (!n || c.argv[0][0] != '/') {
		command_line_free(&c);
		return fail(p,
			    "OnRefused=%s: expected the absolute path of a "
			    "program and its arguments, such as "
			    "OnRefused=/usr/local/bin/confine-mail root",
			    value);
	}
	*out = c;
	return 1;
}

static int confine_key(struct parser *p, const char *key, const char *value)
{
	char where[512];
	int r;

	snprintf(where, sizeof(where), "%s:%u", p->path, p->line);
	r = log_key(p, key, value, &p->plan->log_refused,
		    &p->plan->log_refused_line, &p->plan->log_rate,
		    &p->plan->log_burst);
	if (r >= 0)
		return r;
	if (strcmp(key, "OnRefused") == 0)
		return parse_on_refused(p, value, &p->plan->on_refused);
	if (strcmp(key, "AlertRate") == 0 || strcmp(key, "AlertLimit") == 0) {
		struct rate *dst = key[5] == 'R' ? &p->plan->alert_rate :
						   &p->plan->alert_limit;

		if (!parse_rate(value, 100000, dst))
			return fail(p,
				    "%s=%s: expected N/second, N/minute, "
				    "N/hour or N/day with N from 1 to 100000, "
				    "such as 1/hour",
				    key, value);
		return 1;
	}
	if (strcmp(key, "AlertTimeout") == 0) {
		if (!parse_dec(value, 3600, &p->plan->alert_timeout) ||
		    !p->plan->alert_timeout)
			return fail(p,
				    "AlertTimeout=%s: expected seconds from 1 "
				    "to 3600",
				    value);
		return 1;
	}
	if (strcmp(key, "MarkMask") == 0) {
		uint32_t mask, field;
		unsigned bits;

		if (!parse_u32(value, &mask) || !mask)
			return fail(p,
				    "MarkMask=%s: expected a mask such as "
				    "0xff000000",
				    value);
		field = mask >> __builtin_ctz(mask);
		bits = (unsigned)__builtin_popcount(mask);
		if ((field & (field + 1)) || bits < 2 || bits > 16)
			return fail(p,
				    "MarkMask=%s: expected one run of 2 to "
				    "16 contiguous bits, such as 0xff000000",
				    value);
		if (p->plan->mark_mask_where && p->plan->mark_mask != mask)
			return fail(p,
				    "MarkMask=%s disagrees with MarkMask="
				    "0x%08x at %s",
				    value, p->plan->mark_mask,
				    p->plan->mark_mask_where);
		p->plan->mark_mask = mask;
		free(p->plan->mark_mask_where);
		p->plan->mark_mask_where = strdup(where);
		return 1;
	}
	if (strcmp(key, "CgroupParent") == 0) {
		char buf[sizeof(p->plan->cgroup_parent)];

		if (strlen(value) >= sizeof(buf))
			return fail(p, "CgroupParent= is too long");
		snprintf(buf, sizeof(buf), "%s", value);
		if (!normalize_parent(buf))
			return fail(p,
				    "CgroupParent=%s: expected a cgroup path "
				    "relative to the cgroup2 root, such as "
				    "confine or system.slice/confine",
				    value);
		for (const char *comp = buf; comp;) {
			const char *slash = strchr(comp, '/');
			size_t clen = slash ? (size_t)(slash - comp) :
					      strlen(comp);
			const char *pre = reserved_prefix(comp, clen);

			if (pre)
				return fail(p,
					    "CgroupParent=%s: %.*s begins "
					    "with %s, a prefix cgroupfs "
					    "reserves for its interface files",
					    value, (int)clen, comp, pre);
			comp = slash ? slash + 1 : NULL;
		}
		if (p->plan->cgroup_parent_where &&
		    strcmp(p->plan->cgroup_parent, buf) != 0)
			return fail(p,
				    "CgroupParent=%s disagrees with "
				    "CgroupParent=%s at %s",
				    value, p->plan->cgroup_parent,
				    p->plan->cgroup_parent_where);
		snprintf(p->plan->cgroup_parent, sizeof(p->plan->cgroup_parent),
			 "%s", buf);
		free(p->plan->cgroup_parent_where);
		p->plan->cgroup_parent_where = strdup(where);
		return 1;
	}
	return fail(p,
		    "unknown key %s in [Confine]; expected MarkMask=, "
		    "CgroupParent=, LogRefused=, LogRate=, LogBurst=, "
		    "OnRefused=, AlertRate=, AlertLimit= or AlertTimeout=",
		    key);
}

/*
 * KeepCapabilities=CAP_NET_RAW CAP_SYS_ADMIN: names as in capabilities(7),
 * with or without CAP_, any case. Lines add up; an empty value resets, as
 * in systemd's lists.
 */
static int parse_keep_caps(struct parser *p, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;

	if (!copy)
		return fail(p, "out of memory");
	if (!*value)
		p->svc->keep_caps = 0;
	for (char *w = strtok_r(copy, " \t,", &save); w;
	     w = strtok_r(NULL, " \t,", &save)) {
		const char *bare = strncasecmp(w, "CAP_", 4) == 0 ? w + 4 : w;
		int cap = *bare ? capng_name_to_capability(bare) : -1;

		if (cap < 0 || cap > 63)
			return fail(p,
				    "KeepCapabilities=: unknown capability "
				    "%s; expected names such as CAP_NET_RAW",
				    w);
		p->svc->keep_caps |= UINT64_C(1) << cap;
		p->svc->keep_cap_line[cap] = p->line;
	}
	return 1;
}

static int service_key(struct parser *p, const char *key, const char *value)
{
	struct service *svc = p->svc;
	const char *pre;
	size_t other = 0;
	int r;

	r = log_key(p, key, value, &svc->log_refused, &svc->log_refused_line,
		    &svc->log_rate, &svc->log_burst);
	if (r >= 0)
		return r;
	if (strcmp(key, "OnRefused") == 0)
		return parse_on_refused(p, value, &svc->on_refused);
	if (strcmp(key, "Name") == 0) {
		if (p->seen_name)
			return fail(p, "Name= given twice in one [Service]");
		if (!valid_name(value))
			return fail(p,
				    "Name=%s: expected 1 to %d letters, "
				    "digits, '_', '.' or '-', not starting "
				    "with '.' or '-'",
				    value, SERVICE_NAME_MAX);
		/* The refusal log's name for the processes of no service. */
		if (strcmp(value, "others") == 0)
			return fail(p,
				    "Name=others: reserved; confine's refusal "
				    "log names the processes of no service "
				    "'others'");
		pre = reserved_prefix(value, strlen(value));
		if (pre)
			return fail(p,
				    "Name=%s: begins with %s, a prefix "
				    "cgroupfs reserves for its interface files "
				    "(the service's cgroup is named after it)",
				    value, pre);
		snprintf(svc->name, sizeof(svc->name), "%s", value);
		r = name_map_add(&p->plan->by_name, p->plan->services,
				 plan_service_name, p->plan->n_services - 1,
				 &other);
		if (r == -EEXIST)
			return fail(p,
				    "Name=%s: a service of that name is "
				    "already defined at %s:%u",
				    value, p->plan->services[other].file,
				    p->plan->services[other].line);
		if (r < 0)
			return fail(p, "out of memory");
		p->seen_name = true;
		return 1;
	}
	if (strcmp(key, "Allow") == 0)
		return parse_allow(p, value);
	if (strcmp(key, "Route") == 0)
		return parse_route(p, value);
	if (strcmp(key, "Exclusive") == 0) {
		if (p->seen_exclusive)
			return fail(p,
				    "Exclusive= given twice in one [Service]");
		if (!parse_bool(value, &svc->exclusive))
			return fail(p, "Exclusive=%s: expected yes or no",
				    value);
		p->seen_exclusive = true;
		return 1;
	}
	if (strcmp(key, "Mark") == 0) {
		if (svc->mark_line)
			return fail(p, "Mark= given twice in one [Service]");
		if (!parse_u32(value, &svc->mark_value) || !svc->mark_value)
			return fail(p,
				    "Mark=%s: expected a number from 1, such "
				    "as 0x14",
				    value);
		svc->mark_line = p->line;
		return 1;
	}
	if (strcmp(key, "Table") == 0) {
		if (svc->table_line)
			return fail(p, "Table= given twice in one [Service]");
		if (!parse_u32(value, &svc->table) || !svc->table ||
		    (svc->table >= 253 && svc->table <= 255))
			return fail(p,
				    "Table=%s: expected a routing table "
				    "number from 1 to 4294967295 other than "
				    "253, 254 and 255 (default, main, local)",
				    value);
		if (svc->table == MARKER_TABLE)
			return fail(p,
				    "Table=%s: table %u holds confine's "
				    "marker of installed services; choose "
				    "another",
				    value, MARKER_TABLE);
		svc->table_line = p->line;
		return 1;
	}
	if (strcmp(key, "KeepCapabilities") == 0)
		return parse_keep_caps(p, value);
	if (strcmp(key, "User") == 0 || strcmp(key, "Group") == 0) {
		bool user = key[0] == 'U';
		char *dst = user ? svc->user : svc->group;
		unsigned *line = user ? &svc->user_line : &svc->group_line;
		uint32_t id;

		if (*line)
			return fail(p, "%s= given twice in one [Service]", key);
		if (!valid_user(value))
			return fail(p,
				    "%s=%s: expected a %s name such as %s (up "
				    "to 32 of a-z 0-9 _ -, starting with a "
				    "letter or _) or a number",
				    key, value, user ? "user" : "group",
				    user ? "syslog" : "adm");
		if (isdigit((unsigned char)value[0]) &&
		    (!parse_dec(value, UINT32_MAX - 1, &id) || id == 65535))
			return fail(p,
				    "%s=%s: expected a number from 0 to "
				    "4294967294 other than 65535 (the kernel "
				    "takes those as -1)",
				    key, value);
		snprintf(dst, sizeof(svc->user), "%s", value);
		*line = p->line;
		return 1;
	}
	return fail(p,
		    "unknown key %s in [Service]; expected Name=, Allow=, "
		    "Exclusive=, Route=, Mark=, Table=, KeepCapabilities=, "
		    "User=, Group=, Log*= or OnRefused=",
		    key);
}

/* Checks a finished [Service]; p->line is moved to the line at fault. */
static int service_end(struct parser *p)
{
	struct service *svc = p->svc;

	if (!svc)
		return 1;
	if (!p->seen_name) {
		p->line = svc->line;
		return fail(p, "[Service] has no Name=");
	}
	if (svc->user_line && svc->keep_caps) {
		/* Point at the first KeepCapabilities= line that kept one. */
		p->line = 0;
		for (int cap = 0; cap < 64; cap++)
			if ((svc->keep_caps & (UINT64_C(1) << cap)) &&
			    (!p->line || svc->keep_cap_line[cap] < p->line))
				p->line = svc->keep_cap_line[cap];
		return fail(p,
			    "KeepCapabilities= has no effect with User=: a "
			    "service that runs as another user keeps no "
			    "capabilities (User= is at line %u)",
			    svc->user_line);
	}
	if (!svc->n_allows) {
		p->line = svc->line;
		return fail(p,
			    "service %s has no Allow=; it would reach "
			    "nothing at all",
			    svc->name);
	}
	for (size_t i = 0; i < svc->n_routes; i++) {
		bool leads = false;
		char dst[INET6_ADDRSTRLEN + 8];

		for (size_t j = 0; j < svc->n_allows && !leads; j++)
			leads = prefix_overlaps(&svc->routes[i].dst,
						&svc->allows[j].dst);
		if (!leads) {
			p->line = svc->routes[i].line;
			prefix_format(&svc->routes[i].dst, dst, sizeof(dst));
			return fail(p,
				    "Route= %s leads to no Allow= "
				    "destination of service %s",
				    dst, svc->name);
		}
	}
	for (size_t i = 0;
	     (svc->mark_line || svc->table_line) && i + 1 < p->plan->n_services;
	     i++) {
		const struct service *o = &p->plan->services[i];

		if (svc->mark_line && o->mark_value == svc->mark_value) {
			p->line = svc->mark_line;
			return fail(p,
				    "Mark=0x%x is already used by service "
				    "%s (%s:%u)",
				    svc->mark_value, o->name, o->file,
				    o->mark_line);
		}
		if (svc->table_line && o->table == svc->table) {
			p->line = svc->table_line;
			return fail(p,
				    "Table=%u is already used by service %s "
				    "(%s:%u)",
				    svc->table, o->name, o->file,
				    o->table_line);
		}
	}
	return 1;
}

static int section_start(struct parser *p, const char *name)
{
	if (!service_end(p))
		return 0;
	p->svc = NULL;
	p->seen_name = p->seen_exclusive = false;
	if (strcmp(name, "Confine") == 0) {
		p->section = SEC_CONFINE;
		return 1;
	}
	if (strcmp(name, "Service") == 0) {
		struct service *grown =
			realloc(p->plan->services,
				(p->plan->n_services + 1) * sizeof(*grown));

		if (!grown)
			return fail(p, "out of memory");
		p->plan->services = grown;
		p->svc = &grown[p->plan->n_services++];
		*p->svc = (struct service){ .line = p->line };
		p->svc->file = strdup(p->path);
		if (!p->svc->file)
			return fail(p, "out of memory");
		p->section = SEC_SERVICE;
		return 1;
	}
	return fail(p, "unknown section [%s]; expected [Service] or [Confine]",
		    name);
}

static int handler(void *user, const char *section, const char *key,
		   const char *value)
{
	struct parser *p = user;

	if (p->failed)
		return 0;
	switch (p->section) {
	case SEC_CONFINE:
		return confine_key(p, key, value);
	case SEC_SERVICE:
		return service_key(p, key, value);
	case SEC_NONE:
		break;
	}
	return fail(p, "%s= outside any section; start with [Service]", key);
}

int policy_parse_file(struct plan *plan, const char *path,
		      struct policy_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int fd = policy_open_trusted(path, err);
	struct parser p = { .plan = plan, .path = path, .err = err };
	uint32_t size;
	int r;

	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s",
			 path, strerror(-r));
		return r;
	}
	fd = -1; /* f owns it */
	p.f = f;
	r = ini_parse_stream(reader, &p, handler, &p);
	if (p.failed)
		return -EINVAL;
	if (p.read_errno) {
		snprintf(err->msg, sizeof(err->msg), "%s:%u: cannot read: %s",
			 path, p.line + 1, strerror(p.read_errno));
		return -p.read_errno;
	}
	if (r > 0) {
		p.line = (unsigned)r;
		return fail(&p, "expected [Section] or Key=Value"), -EINVAL;
	}
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read", path);
		return -EIO;
	}
	if (!service_end(&p))
		return -EINVAL;
	/* The mask may come after the marks; check them against the last. */
	size = mark_field_size(plan->mark_mask);
	for (size_t i = 0; i < plan->n_services; i++) {
		struct service *svc = &plan->services[i];

		if (svc->mark_line && svc->mark_value >= size) {
			p.line = svc->mark_line;
			p.path = svc->file;
			p.failed = false;
			return fail(&p,
				    "Mark=0x%x does not fit MarkMask=0x%08x; "
				    "expected 1 to 0x%x",
				    svc->mark_value, plan->mark_mask, size - 1),
			       -EINVAL;
		}
	}
	return 0;
}
