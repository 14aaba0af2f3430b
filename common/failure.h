#pragma once

/*
 * What a helper tells its caller when it fails, besides -errno: the object
 * it was working on ("add ip rule fwmark 0x14000000/0xff000000 lookup 20"),
 * the kernel's extended ACK message when there was one, and which
 * operation it was, so that confine/ can add a hint without reading prose.
 * Helpers never print; confine/ turns this into the one line the user sees.
 */

#include <stdbool.h>

enum failure_op {
	FAIL_OP_OTHER,
	/* An nf_tables rule with `socket cgroupv2` (Linux 5.13). */
	FAIL_OP_SOCKET_CGROUP,
};

struct failure {
	char object[512];
	char kernel_msg[256];
	enum failure_op op;
	/* object is a whole policy message ("FILE:LINE: ..."): exit 2. */
	bool policy;
};

#define failure_set(f, ...)                                        \
	do {                                                       \
		if (f)                                             \
			snprintf((f)->object, sizeof((f)->object), \
				 __VA_ARGS__);                     \
	} while (0)
