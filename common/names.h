#pragma once

/*
 * Finding an item of an array by its name in constant time: a hash table
 * of positions. The names stay in the items; the table holds only their
 * positions, so the array may grow (and move) between calls, and each
 * call says where the items are now and how to read an item's name.
 * Without it, apply and status compared every service with every other,
 * and 10,000 services took minutes.
 */

#include <stddef.h>
#include <sys/types.h>

/* The name of items[i]; items is whatever array the caller indexes. */
typedef const char *(*name_of_fn)(const void *items, size_t i);

struct name_map {
	size_t *slots; /* position + 1; 0: empty */
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/*
 * Adds items[i] under its name. Returns 0, -EEXIST with *other the
 * position of the item that has the name already, or -ENOMEM.
 */
int name_map_add(struct name_map *m, const void *items, name_of_fn name_of,
		 size_t i, size_t *other);
/* The position of the item called name, or -1. */
ssize_t name_map_find(const struct name_map *m, const void *items,
		      name_of_fn name_of, const char *name);
void name_map_free(struct name_map *m);
