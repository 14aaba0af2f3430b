// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sends COUNT UDP datagrams of SIZE bytes (default 0) to ADDR PORT as fast
 * as it can and prints datagrams per second and how many sends failed: the
 * per-packet cost of the output path, including confine's chain, seen from
 * a sender. The socket is connected, so that the route is looked up once;
 * with "unconnected", every datagram is sent with sendto() and pays a route
 * lookup (the fib rules) of its own. Used by bench/service-count.sh and
 * bench/packet-cost.sh.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	static char payload[65507];
	struct timespec a, b;
	long count, size = 0, failed = 0;
	bool connected = true;
	int fd;

	if (argc < 4 || argc > 6 ||
	    inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
	    (argc == 6 && strcmp(argv[5], "unconnected") != 0)) {
		fprintf(stderr,
			"usage: udp-send ADDR PORT COUNT [SIZE [unconnected]]\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	count = atol(argv[3]);
	if (argc >= 5)
		size = atol(argv[4]);
	if (size < 0 || size > (long)sizeof(payload)) {
		fprintf(stderr, "udp-send: SIZE must be 0 to %zu\n",
			sizeof(payload));
		return 2;
	}
	connected = argc < 6;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connected &&
		       connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)) {
		perror("udp-send: socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < count; i++) {
		ssize_t r = connected ? send(fd, payload, (size_t)size, 0) :
					sendto(fd, payload, (size_t)size, 0,
					       (struct sockaddr *)&sin,
					       sizeof(sin));
		if (r < 0)
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f %ld\n",
	       count / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9),
	       failed);
	return 0;
}
