// SPDX-License-Identifier: GPL-2.0-or-later
/* See notes.h. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/notes.h"

void notes_add(struct notes *n, const char *fmt, ...)
{
	char **grown, *line;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (r < 0) {
		n->err = -ENOMEM;
		return;
	}
	grown = realloc(n->lines, (n->n + 1) * sizeof(*grown));
	if (!grown) {
		free(line);
		n->err = -ENOMEM;
		return;
	}
	grown[n->n++] = line;
	n->lines = grown;
}

void notes_free(struct notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->lines[i]);
	free(n->lines);
	*n = (struct notes){ 0 };
}
