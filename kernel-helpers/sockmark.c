// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Socket marks from birth (see sockmark.h): a handful of raw BPF
 * instructions per program, loaded and attached with the bpf() system
 * call, the way iproute2's `ip vrf exec` binds sockets to a VRF.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "kernel-helpers/sockmark.h"

#define NAME_PREFIX "cfn_"
#define LISTEN_NAME NAME_PREFIX "listen"
#define MAX_ATTACHED 64

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(SYS_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

/* The instruction encodings used below (linux/filter.h is not UAPI). */
static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
			    int32_t imm)
{
	return (struct bpf_insn){ .code = code,
				  .dst_reg = dst,
				  .src_reg = src,
				  .off = off,
				  .imm = imm };
}

static void mark_name(uint32_t mark, char name[BPF_OBJ_NAME_LEN])
{
	snprintf(name, BPF_OBJ_NAME_LEN, NAME_PREFIX "m_%08x", mark);
}

/* Returns a program fd, or -errno with the verifier's log in fail. */
static int prog_load(enum bpf_prog_type type, enum bpf_attach_type expected,
		     const struct bpf_insn *insns, size_t n, const char *name,
		     struct failure *fail)
{
	static const char license[] = "GPL";
	char log[1024] = "";
	union bpf_attr attr = {
		.prog_type = type,
		.expected_attach_type = expected,
		.insns = (uintptr_t)insns,
		.insn_cnt = (uint32_t)n,
		.license = (uintptr_t)license,
		.log_buf = (uintptr_t)log,
		.log_size = sizeof(log),
		.log_level = 1,
	};
	int fd;

	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", name);
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0 && fail) {
		failure_set(fail, "load BPF program %s", name);
		/* The verifier's last line says why. */
		log[sizeof(log) - 1] = '\0';
		for (size_t len = strlen(log); len && log[len - 1] == '\n';)
			log[--len] = '\0';
		const char *last = strrchr(log, '\n');
		snprintf(fail->kernel_msg, sizeof(fail->kernel_msg), "%s",
			 last ? last + 1 : log);
	}
	return fd;
}

/* Every inet socket created below the cgroup gets mark. */
static int load_create_prog(uint32_t mark, struct failure *fail)
{
	char name[BPF_OBJ_NAME_LEN];
	const struct bpf_insn insns[] = {
		/* w2 = mark (32-bit move: no sign extension) */
		insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, (int32_t)mark),
		/* ((struct bpf_sock *)r1)->mark = w2 */
		insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_2,
		     offsetof(struct bpf_sock, mark), 0),
		/* return 1: let the socket be created */
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1),
		insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	mark_name(mark, name);
	return prog_load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE,
			 insns, ARRAY_SIZE(insns), name, fail);
}

/* setsockopt(SO_MARK, 0) on a TCP socket when it starts to listen. */
static int load_listen_prog(struct failure *fail)
{
	const struct bpf_insn insns[] = {
		/* r2 = ((struct bpf_sock_ops *)r1)->op */
		insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1,
		     offsetof(struct bpf_sock_ops, op), 0),
		/* any other callback: to "return 1" */
		insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 7,
		     BPF_SOCK_OPS_TCP_LISTEN_CB),
		/* *(u32 *)(fp - 4) = 0, and r4 = fp - 4: the option value */
		insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0),
		insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -4),
		/* bpf_setsockopt(r1, SOL_SOCKET, SO_MARK, r4, 4) */
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, SOL_SOCKET),
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, SO_MARK),
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, 4),
		insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_setsockopt),
		/* return 1 */
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1),
		insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	return prog_load(BPF_PROG_TYPE_SOCK_OPS, 0, insns, ARRAY_SIZE(insns),
			 LISTEN_NAME, fail);
}

struct attached {
	uint32_t ids[MAX_ATTACHED];
	char names[MAX_ATTACHED][BPF_OBJ_NAME_LEN];
	uint32_t n;
};

/* The programs attached directly to the cgroup, with their names. */
static int query(int cgroup_fd, enum bpf_attach_type type, struct attached *out)
{
	union bpf_attr attr = {
		.query.target_fd = (uint32_t)cgroup_fd,
		.query.attach_type = type,
		.query.prog_ids = (uintptr_t)out->ids,
		.query.prog_cnt = MAX_ATTACHED,
	};
	int r = sys_bpf(BPF_PROG_QUERY, &attr);

	if (r < 0)
		return r;
	out->n = attr.query.prog_cnt;
	for (uint32_t i = 0; i < out->n; i++) {
		union bpf_attr get = { .prog_id = out->ids[i] };
		struct bpf_prog_info info = { 0 };
		union bpf_attr inf = { 0 };
		_cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);

		out->names[i][0] = '\0';
		if (fd < 0)
			continue; /* detached meanwhile */
		inf.info.bpf_fd = (uint32_t)fd;
		inf.info.info_len = sizeof(info);
		inf.info.info = (uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &inf) == 0)
			memcpy(out->names[i], info.name, BPF_OBJ_NAME_LEN);
		out->names[i][BPF_OBJ_NAME_LEN - 1] = '\0';
	}
	return 0;
}

static bool has_name(const struct attached *a, const char *name)
{
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			return true;
	return false;
}

static int attach(int cgroup_fd, int prog_fd, enum bpf_attach_type type)
{
	union bpf_attr attr = {
		.target_fd = (uint32_t)cgroup_fd,
		.attach_bpf_fd = (uint32_t)prog_fd,
		.attach_type = type,
		.attach_flags = BPF_F_ALLOW_MULTI,
	};

	return sys_bpf(BPF_PROG_ATTACH, &attr);
}

/* Detaches confine's programs of type except the one named keep. */
static int detach_ours(int cgroup_fd, enum bpf_attach_type type,
		       const char *keep)
{
	struct attached a;
	int r = query(cgroup_fd, type, &a);

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < a.n; i++) {
		union bpf_attr get = { .prog_id = a.ids[i] };
		union bpf_attr det = { 0 };
		_cleanup_close_ int fd = -1;

		if (strncmp(a.names[i], NAME_PREFIX, strlen(NAME_PREFIX)) ||
		    (keep && strcmp(a.names[i], keep) == 0))
			continue;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0)
			continue;
		det.target_fd = (uint32_t)cgroup_fd;
		det.attach_bpf_fd = (uint32_t)fd;
		det.attach_type = type;
		r = sys_bpf(BPF_PROG_DETACH, &det);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

static int open_cgroup(const char *path, struct failure *fail)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		failure_set(fail, "open cgroup %s", path);
		return -errno;
	}
	return fd;
}

/* Attaches the program just loaded (prog_fd, closed here) to cg. */
static int attach_new(int cg, int prog_fd, enum bpf_attach_type type,
		      const char *name, const char *cgroup_path,
		      struct failure *fail)
{
	int r;

	if (prog_fd < 0)
		return prog_fd; /* fail says why */
	r = attach(cg, prog_fd, type);
	close(prog_fd);
	if (r < 0)
		failure_set(fail, "attach BPF program %s to cgroup %s", name,
			    cgroup_path);
	return r;
}

/*
 * Opens the cgroup and lists the programs of both hooks; returns the
 * cgroup's fd or -errno.
 */
static int cgroup_programs(const char *cgroup_path, struct attached *create,
			   struct attached *ops, struct failure *fail)
{
	int cg = open_cgroup(cgroup_path, fail);
	int r;

	if (cg < 0)
		return cg;
	r = query(cg, BPF_CGROUP_INET_SOCK_CREATE, create);
	if (r == 0)
		r = query(cg, BPF_CGROUP_SOCK_OPS, ops);
	if (r < 0) {
		failure_set(fail, "list the BPF programs of cgroup %s",
			    cgroup_path);
		close(cg);
		return r;
	}
	return cg;
}

int sockmark_attach(const char *cgroup_path, uint32_t mark, bool *attached,
		    struct failure *fail)
{
	struct attached create, ops;
	_cleanup_close_ int cg =
		cgroup_programs(cgroup_path, &create, &ops, fail);
	char name[BPF_OBJ_NAME_LEN];
	int r;

	*attached = false;
	if (cg < 0)
		return cg;
	mark_name(mark, name);
	/* The listen program first: a marked listener would be worse. */
	if (!has_name(&ops, LISTEN_NAME)) {
		r = attach_new(cg, load_listen_prog(fail), BPF_CGROUP_SOCK_OPS,
			       LISTEN_NAME, cgroup_path, fail);
		if (r < 0)
			return r;
		*attached = true;
	}
	if (!has_name(&create, name)) {
		r = attach_new(cg, load_create_prog(mark, fail),
			       BPF_CGROUP_INET_SOCK_CREATE, name, cgroup_path,
			       fail);
		if (r < 0)
			return r;
		*attached = true;
	}
	/* A service whose mark changed: its old program goes now. */
	r = detach_ours(cg, BPF_CGROUP_INET_SOCK_CREATE, name);
	if (r < 0)
		failure_set(fail, "detach stale BPF programs from cgroup %s",
			    cgroup_path);
	return r;
}

int sockmark_check(const char *cgroup_path, uint32_t mark, bool *in_force,
		   struct failure *fail)
{
	struct attached create, ops;
	_cleanup_close_ int cg =
		cgroup_programs(cgroup_path, &create, &ops, fail);
	char name[BPF_OBJ_NAME_LEN];

	if (cg < 0)
		return cg;
	mark_name(mark, name);
	*in_force = has_name(&create, name) && has_name(&ops, LISTEN_NAME);
	return 0;
}

int sockmark_detach(const char *cgroup_path, struct failure *fail)
{
	_cleanup_close_ int cg = open_cgroup(cgroup_path, fail);
	int r;

	if (cg < 0)
		return cg;
	r = detach_ours(cg, BPF_CGROUP_INET_SOCK_CREATE, NULL);
	if (r == 0)
		r = detach_ours(cg, BPF_CGROUP_SOCK_OPS, NULL);
	if (r < 0)
		failure_set(fail,
			    "detach confine's BPF programs from cgroup %s",
			    cgroup_path);
	return r;
}
