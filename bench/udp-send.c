// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sends COUNT UDP datagrams to ADDR PORT as fast as it can and prints
 * datagrams per second, how many sends failed, and datagrams per second of
 * the CPU time the sender used (user and system, which a busy machine's
 * other jobs do not take away, unlike wall time): the per-packet cost of
 * the output path, including confine's chain, seen from a sender. Used by
 * bench/packet-cost.sh, bench/conntrack-cost.sh and bench/log-cost.sh.
 *
 *	udp-send [-s SIZE] [-u] [-t SECONDS] ADDR PORT COUNT
 *
 * -s: bytes of payload (default 0). -u: unconnected: every datagram is
 * sent with sendto() and pays a route lookup (the fib rules) of its own;
 * by default the socket is connected, and the route looked up once. -t:
 * stop after SECONDS even if COUNT datagrams have not been sent, so that a
 * slow setup (a long linear ruleset) still gives a figure in bounded time.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double seconds_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

/* User and system time of this process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int usage(void)
{
	fprintf(stderr, "usage: udp-send [-s SIZE] [-u] [-t SECONDS] ADDR "
			"PORT COUNT\n");
	return 2;
}

int main(int argc, char **argv)
{
	static char payload[65507];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timespec start;
	long count, size = 0, failed = 0, sent = 0;
	double limit = 0, took, cpu;
	bool connected = true;
	int fd, opt;

	while ((opt = getopt(argc, argv, "s:ut:")) != -1) {
		switch (opt) {
		case 's':
			size = atol(optarg);
			break;
		case 'u':
			connected = false;
			break;
		case 't':
			limit = atof(optarg);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 3 ||
	    inet_pton(AF_INET, argv[optind], &sin.sin_addr) != 1)
		return usage();
	if (size < 0 || size > (long)sizeof(payload)) {
		fprintf(stderr, "udp-send: SIZE must be 0 to %zu\n",
			sizeof(payload));
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	count = atol(argv[optind + 2]);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connected &&
		       connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)) {
		perror("udp-send: socket");
		return 1;
	}
	/*
	 * CPU time is counted from here: confine run executes this program
	 * in place, and the process's usage so far is run's.
	 */
	cpu = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (sent < count) {
		ssize_t r = connected ? send(fd, payload, (size_t)size, 0) :
					sendto(fd, payload, (size_t)size, 0,
					       (struct sockaddr *)&sin,
					       sizeof(sin));
		if (r < 0)
			failed++;
		sent++;
		/* The clock every 256 datagrams: cheap against a send. */
		if (limit > 0 && sent % 256 == 0 &&
		    seconds_since(&start) >= limit)
			break;
	}
	took = seconds_since(&start);
	cpu = cpu_seconds() - cpu;
	printf("%.0f %ld %.0f\n", sent / took, failed,
	       cpu > 0 ? sent / cpu : 0);
	return 0;
}
