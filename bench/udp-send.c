// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sends COUNT empty UDP datagrams to ADDR PORT as fast as it can and prints
 * datagrams per second: the per-packet cost of the output path, including
 * confine's chain, seen from a sender. Used by bench/service-count.sh.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timespec a, b;
	long count, failed = 0;
	int fd;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: udp-send ADDR PORT COUNT\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	count = atol(argv[3]);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("udp-send: socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < count; i++)
		if (send(fd, "", 0, 0) < 0)
			failed++;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f %ld\n",
	       count / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9),
	       failed);
	return 0;
}
