#pragma once

/*
 * Reading kernel tunables from /proc/sys. The files under /proc/sys/net
 * show the network namespace of the process that opens them, so a caller
 * that has entered a namespace with setns(2) reads that namespace's values.
 * Names are paths below /proc/sys: "net/ipv4/conf/all/rp_filter".
 */

#include <stddef.h>

/* The value as text, without its trailing newline. 0 or -errno. */
int sysctl_read(const char *name, char *buf, size_t size);
/* The value as an integer; -EINVAL when it is not one. */
int sysctl_read_int(const char *name, int *out);
/*
 * The entries of directory dir below /proc/sys ("net/ipv4/conf"), sorted,
 * without "." and "..". *names and each name are malloc'd; free with
 * sysctl_names_free().
 */
int sysctl_list(const char *dir, char ***names, size_t *n);
void sysctl_names_free(char **names, size_t n);
