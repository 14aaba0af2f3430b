// SPDX-License-Identifier: GPL-2.0-or-later
/* See names.h. Open addressing with linear probing, at most half full. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"

static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return (size_t)h;
}

/* The slot that holds name, or the empty one where it would go. */
static size_t slot_of(const struct name_map *m, const void *items,
		      name_of_fn name_of, const char *name)
{
	size_t mask = m->cap - 1, at = hash(name) & mask;

	while (m->slots[at] &&
	       strcmp(name_of(items, m->slots[at] - 1), name) != 0)
		at = (at + 1) & mask;
	return at;
}

static int grow(struct name_map *m, const void *items, name_of_fn name_of)
{
	struct name_map bigger = { .cap = m->cap ? m->cap * 2 : 16 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i])
			continue;
		bigger.slots[slot_of(&bigger, items, name_of,
				     name_of(items, m->slots[i] - 1))] =
			m->slots[i];
	}
	bigger.n = m->n;
	free(m->slots);
	*m = bigger;
	return 0;
}

int name_map_add(struct name_map *m, const void *items, name_of_fn name_of,
		 size_t i, size_t *other)
{
	size_t at;

	if ((m->n + 1) * 2 > m->cap && grow(m, items, name_of) < 0)
		return -ENOMEM;
	at = slot_of(m, items, name_of, name_of(items, i));
	if (m->slots[at]) {
		if (other)
			*other = m->slots[at] - 1;
		return -EEXIST;
	}
	m->slots[at] = i + 1;
	m->n++;
	return 0;
}

ssize_t name_map_find(const struct name_map *m, const void *items,
		      name_of_fn name_of, const char *name)
{
	size_t at;

	if (!m->cap)
		return -1;
	at = slot_of(m, items, name_of, name);
	return m->slots[at] ? (ssize_t)m->slots[at] - 1 : -1;
}

void name_map_free(struct name_map *m)
{
	free(m->slots);
	*m = (struct name_map){ 0 };
}
