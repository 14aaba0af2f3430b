#pragma once

/*
 * The seccomp filter of a confined process, built with libseccomp. It
 * refuses, with EPERM and never by killing (a daemon then logs a clear
 * error), the system calls that leave confinement behind:
 *   - socket(AF_PACKET): frames bypass IP routing and the inet hooks;
 *   - unshare() and clone() with CLONE_NEWNET or CLONE_NEWUSER, and
 *     setns(): another network namespace has other rules and routes;
 *   - bpf(): a program could rewrite marks or detach confine's;
 *   - ptrace(), process_vm_readv/writev(), pidfd_getfd(): acting through,
 *     or taking sockets from, a process outside the cgroup;
 *   - open_by_handle_at(): a file or cgroup named by handle, outside the
 *     process's view;
 *   - setsockopt() of the options that choose an output interface
 *     (SO_BINDTODEVICE, SO_BINDTOIFINDEX, IP(V6)_UNICAST_IF,
 *     IP(V6)_MULTICAST_IF, IPV6_PKTINFO): a route the policy did not set.
 * clone3() gets ENOSYS, since its flags sit in memory a filter cannot
 * read; the C library then falls back to clone().
 */

#include <seccomp.h>

#include "common/failure.h"

/* Builds the filter; nothing is loaded yet. */
int seccomp_filter_new(scmp_filter_ctx *out, struct failure *fail);
/* Loads it into the calling thread; needs no_new_privs or CAP_SYS_ADMIN. */
int seccomp_filter_load(scmp_filter_ctx ctx, struct failure *fail);
void seccomp_filter_free(scmp_filter_ctx ctx);
