// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel tunables from /proc/sys; see sysctl.h. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "kernel-helpers/sysctl.h"

int sysctl_read(const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	ssize_t len;

	if (size == 0)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/sys/%s", name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0)
		return -errno;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	return 0;
}

int sysctl_read_int(const char *name, int *out)
{
	char buf[64], *end;
	long v;
	int r;

	r = sysctl_read(name, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int not_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

int sysctl_list(const char *dir, char ***names, size_t *n)
{
	struct dirent **list = NULL;
	char path[PATH_MAX];
	char **out;
	int count;

	if (snprintf(path, sizeof(path), "/proc/sys/%s", dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	count = scandir(path, &list, not_dots, alphasort);
	if (count < 0)
		return -errno;
	out = calloc((size_t)count + 1, sizeof(*out));
	for (int i = 0; i < count; i++) {
		if (out)
			out[i] = strdup(list[i]->d_name);
		if (out && !out[i]) {
			sysctl_names_free(out, (size_t)i);
			out = NULL;
		}
		free(list[i]);
	}
	free(list);
	if (!out)
		return -ENOMEM;
	*names = out;
	*n = (size_t)count;
	return 0;
}

void sysctl_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
