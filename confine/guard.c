// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine guard: a long-running process that repairs confine's kernel
 * state when someone else removes or changes it (`nft flush ruleset`, as
 * Debian's nftables.service does on every start; `ip rule flush`; a route
 * deleted from a service's table). It repairs what was damaged, never what
 * was removed: a service of which nothing is left (`confine remove`) stays
 * removed. Its own repairs notify it too; they find everything in force.
 */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/netns.h"
#include "kernel-helpers/nlwatch.h"

/*
 * At most BURST repairs in a row, then one per REFILL_MS: a flush storm
 * (a script that flushes in a loop) must not turn the guard into one:
 * at most ten repairs a second, sustained.
 */
#define BURST 10
#define REFILL_MS 100
/* A change usually comes as several messages: let it finish first. */
#define SETTLE_MS 2

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("confine guard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Who changed nf_tables, when the kernel said, for the log. */
static void who(const struct nlwatch_event *ev, char *buf, size_t size)
{
	if (ev && ev->pid)
		snprintf(buf, size, " (nf_tables last changed by PID %d, %s)",
			 (int)ev->pid, ev->comm[0] ? ev->comm : "?");
	else
		buf[0] = '\0';
}

/*
 * Checks every service of plan and re-applies those that are damaged:
 * installed but not in force, or, when confine's routing is left without
 * its nf_tables service, every service of the plan that is not installed.
 */
static int repair(struct plan *plan, const struct nlwatch_event *ev)
{
	_cleanup_free_ struct service *damaged = NULL;
	_cleanup_free_ char(*reasons)[512] = NULL;
	_cleanup_free_ struct verify_item *items = NULL;
	size_t n_items = 0;
	struct notes left = { 0 };
	struct failure f = { 0 };
	struct session s;
	struct plan sub;
	size_t n = 0;
	char by[96];
	int r;

	r = session_open(&s, NULL, LOCK_EXCLUSIVE);
	if (r)
		return r;
	damaged = calloc(plan->n_services, sizeof(*damaged));
	reasons = calloc(plan->n_services, sizeof(*reasons));
	items = calloc(plan->n_services + 1, sizeof(*items));
	r = damaged && reasons && items ? engine_assign(&s.e, plan, &f) :
					  -ENOMEM;
	if (r == 0)
		r = engine_leftovers(&s.e, &left, &f);
	/* The installed ones, checked as one batch. */
	for (size_t i = 0; r == 0 && i < plan->n_services; i++) {
		items[n_items].svc = &plan->services[i];
		items[n_items].is =
			nft_state_find(&s.e.installed, plan->services[i].name);
		n_items += items[n_items].is != NULL;
	}
	if (r == 0)
		r = engine_verify_many(&s.e, plan, items, n_items, true, &f);
	for (size_t i = 0, k = 0; r == 0 && i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];
		struct verdict v = { 0 };

		if (k < n_items && items[k].svc == svc)
			v = items[k++].v;
		else if (left.n)
			snprintf(v.reason, sizeof(v.reason),
				 "its nf_tables service is gone, and confine's "
				 "routing is left");
		else
			continue; /* removed, not damaged */
		if (!v.in_force) {
			snprintf(reasons[n], sizeof(reasons[n]), "%s",
				 v.reason);
			damaged[n++] = *svc;
		}
	}
	notes_free(&left);
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	if (!n)
		goto out;
	sub = *plan;
	sub.services = damaged;
	sub.n_services = n;
	sub.by_name = (struct name_map){ 0 };
	who(ev, by, sizeof(by));
	r = apply_plan(&s, &sub, NULL);
	for (size_t i = 0; i < n; i++)
		say("%s service %s: %s%s", r ? "could not repair" : "repaired",
		    damaged[i].name, reasons[i], by);
out:
	session_close(&s);
	return r;
}

int cmd_guard(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *netns = NULL;
	struct nlwatch *w = NULL;
	struct failure f = { 0 };
	struct nlwatch_event ev, more;
	long refilled;
	int c, r, tokens = BURST;
	unsigned long suppressed = 0;
	struct plan plan;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'n')
			return usage_error(argv, c);
		netns = optarg;
	}
	r = load_plan(&plan, argv + optind, argc - optind);
	if (r)
		return r;
	/* Once, for good: the watch sees only its own namespace. */
	r = netns ? netns_enter(netns, &f) : 0;
	if (r == 0)
		r = nlwatch_open(&w, &f);
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	say("watching %zu service(s)%s%s; at most %d repairs in a row, then "
	    "one every %d ms",
	    plan.n_services, netns ? " in network namespace " : "",
	    netns ? netns : "", BURST, REFILL_MS);
	repair(&plan, NULL);
	refilled = now_ms();
	for (;;) {
		r = nlwatch_wait(w, -1, &ev);
		if (r < 0) {
			f = (struct failure){ 0 };
			snprintf(f.object, sizeof(f.object),
				 "read kernel notifications");
			r = report(r, &f);
			goto out;
		}
		if (!r)
			continue;
		while (nlwatch_wait(w, SETTLE_MS, &more) > 0)
			if (more.pid)
				ev = more;
		if (ev.lost)
			say("the kernel dropped notifications; checking "
			    "everything");
		for (long t = now_ms();
		     t - refilled >= REFILL_MS && tokens < BURST;
		     refilled += REFILL_MS)
			tokens++;
		if (tokens == BURST)
			refilled = now_ms();
		if (!tokens) {
			if (!suppressed++)
				say("rate limit reached: repairs wait %d ms "
				    "each",
				    REFILL_MS);
			/* Wait for the token, then repair what is left. */
			for (long left = REFILL_MS - (now_ms() - refilled);
			     left > 0; left = REFILL_MS - (now_ms() - refilled))
				if (nlwatch_wait(w, (int)left, &more) > 0 &&
				    more.pid)
					ev = more;
			tokens = 1;
			refilled = now_ms();
		}
		if (suppressed)
			say("%lu change(s) came while repairs were "
			    "rate-limited",
			    suppressed);
		suppressed = 0;
		tokens--;
		repair(&plan, &ev);
	}
out:
	nlwatch_close(w);
	plan_free(&plan);
	return r;
}
