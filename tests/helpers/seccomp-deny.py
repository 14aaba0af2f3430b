#!/usr/bin/env python3
"""seccomp-deny.py NAME=ERRNO... -- COMMAND [ARG...]

Runs COMMAND under a seccomp filter that fails each named system call with
ERRNO (a name such as ENOSYS or EPERM) and allows every other one: a kernel
that lacks a feature, as a program that probes for it sees it. Only the
system calls below are known; x86_64 and aarch64 only (exit 77 elsewhere).
"""

import ctypes
import errno
import os
import platform
import struct
import sys

NR = {
    "x86_64": {"bpf": 321, "seccomp": 317, "landlock_create_ruleset": 444},
    "aarch64": {"bpf": 280, "seccomp": 277, "landlock_create_ruleset": 444},
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def insn(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k)


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    sep = args.index("--")
    rules, cmd = args[:sep], args[sep + 1:]
    machine = platform.machine()
    if machine not in NR or not cmd:
        print(f"seccomp-deny.py: cannot run on {machine}", file=sys.stderr)
        sys.exit(77)
    prog = [insn(BPF_LD_W_ABS, 0, 0, 4),
            insn(BPF_JEQ_K, 1, 0, AUDIT_ARCH[machine]),
            insn(BPF_RET_K, 0, 0, RET_ALLOW),
            insn(BPF_LD_W_ABS, 0, 0, 0)]
    for rule in rules:
        name, err = rule.split("=")
        prog.append(insn(BPF_JEQ_K, 0, 1, NR[machine][name]))
        prog.append(insn(BPF_RET_K, 0, 0, RET_ERRNO | getattr(errno, err)))
    prog.append(insn(BPF_RET_K, 0, 0, RET_ALLOW))
    code = b"".join(prog)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("=HxxxxxxQ", len(prog), ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
       libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                  ctypes.addressof(fbuf), 0, 0) != 0:
        e = ctypes.get_errno()
        sys.exit(f"seccomp-deny.py: cannot load the filter: {os.strerror(e)}")
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
