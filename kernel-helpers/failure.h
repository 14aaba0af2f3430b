#pragma once

/*
 * What a kernel helper tells its caller when it fails, besides -errno: the
 * object it was working on ("add ip rule fwmark 0x14000000/0xff000000 lookup
 * 20") and, when the kernel sent one, its extended ACK message. Helpers never
 * print; confine/ turns this into the one line the user sees.
 */
struct failure {
	char object[512];
	char kernel_msg[256];
};

#define failure_set(f, ...)                                        \
	do {                                                       \
		if (f)                                             \
			snprintf((f)->object, sizeof((f)->object), \
				 __VA_ARGS__);                     \
	} while (0)
