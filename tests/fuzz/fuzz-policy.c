// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness for the policy parser, the planner and the lowering:
 * arbitrary bytes as a policy file, then, when they parse, what `confine
 * check --rules` does with them (plan_assign, plan_print, lower_service
 * unpinned, nft_print_service_rules). Built with meson -Dfuzz=true and
 * clang; tests/run.sh runs it for a minute, bench/fuzz.sh for longer.
 *
 * policy_parse_file() takes a path and checks the file's trust as sshd's
 * StrictModes would, so the bytes go to a 0600 file in a 0700 directory
 * made once per process (every directory above is root's or sticky).
 */

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/notes.h"
#include "engine/lower.h"
#include "kernel-helpers/nft.h"
#include "policy/lint.h"
#include "policy/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];
static FILE *devnull;

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/confine-fuzz.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz-policy: mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/input.policy", dir);
	devnull = fopen("/dev/null", "we");
	if (!devnull) {
		perror("fuzz-policy: /dev/null");
		abort();
	}
	atexit(remove_dir);
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		perror("fuzz-policy: open");
		abort();
	}
	while (size) {
		ssize_t n = write(fd, data, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("fuzz-policy: write");
			abort();
		}
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

static void lower_and_print(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		struct lowered low;

		if (lower_service(plan, &plan->services[i], NULL, NULL, 0,
				  &low) < 0)
			continue;
		nft_print_service_rules(&low.nft, plan->mark_mask, devnull);
		lowered_free(&low);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err = { "" };
	struct notes notes = { 0 };
	struct taken none = { 0 };
	struct plan plan;

	if (!devnull)
		setup();
	write_input(data, size);
	plan_init(&plan);
	if (policy_parse_file(&plan, path, &err) == 0 &&
	    plan_assign(&plan, &none, &err) == 0) {
		plan_print(&plan, devnull);
		plan_lint(&plan, &notes);
		notes_free(&notes);
		lower_and_print(&plan);
	}
	/* A message must be a string whatever the input was. */
	if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
		abort();
	plan_free(&plan);
	return 0;
}
