#pragma once

/*
 * What every netlink user in confine shares: a socket with extended ACKs,
 * reading an error ACK with the kernel's message, and one request/reply
 * exchange that reads up to the final ACK.
 */

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/*
 * The receive buffer for dumps. The kernel fills one message batch of at
 * most 32 KiB per read, and for each batch nf_tables walks its objects
 * again from the start; with libmnl's 8 KiB buffer, reading 10,000
 * services' counters took four times as many walks.
 */
#define NL_DUMP_BUFFER_SIZE 32768

/* Opens a libmnl socket on bus with NETLINK_EXT_ACK on. */
int nl_open(int bus, struct mnl_socket **out, uint32_t *portid);

/*
 * For an NLMSG_ERROR message: its error as -errno (0 for a plain ACK), and
 * the extended ACK text copied to msg when the kernel sent one.
 */
int nl_ack_error(const struct nlmsghdr *nlh, char *msg, size_t size);

/*
 * Sends nlh (which must carry NLM_F_ACK) and runs cb on every reply until
 * the final ACK or NLMSG_DONE. buf is used for receiving. Returns 0 or the
 * kernel's -errno, with its extended ACK text in msg (may be NULL).
 */
int nl_talk(struct mnl_socket *nl, uint32_t portid, struct nlmsghdr *nlh,
	    uint32_t seq, void *buf, size_t size, mnl_cb_t cb, void *data,
	    char *msg, size_t msg_size);
