#pragma once

/*
 * Lines for the user that a layer below confine/ wants said (warnings,
 * each complete, "FILE:LINE: warning: ..."): collected here, printed by
 * confine/, so that no other layer prints.
 */

#include <stddef.h>

struct notes {
	char **lines;
	size_t n;
	int err; /* -ENOMEM when a line was lost */
};

void notes_add(struct notes *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void notes_free(struct notes *n);
