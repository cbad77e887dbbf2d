"""The seccomp filter every sandbox run gets, built with libseccomp (Debian's libseccomp2, via pyseccomp).

The filter is a deny-list over a default of *allow*, as isolate 2.4's is. torch, numpy and glibc use some
150 distinct system calls between them (threads through clone/clone3 and futex, memory through mmap,
mprotect, madvise and mremap, sched_getaffinity for the thread count, ioctl and mmap of /dev/nvidia* on a
GPU, pipes, epoll, the files under /tmp); an allow-list that tracks all of them breaks with every release
of either, for no gain, since none of them reaches outside the sandbox's namespaces. What is denied is
the kernel surface that *does*, or that an escape would start from:

* kernel keyrings (``add_key``, ``keyctl``, ``request_key``): they are not namespaced, so a key read or
  planted here crosses runs and reaches the worker's own session keyring;
* new namespaces and mounts (``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag, ``mount``,
  ``umount2``, ``pivot_root``, the new mount API, ``open_by_handle_at``): no nested user namespace with
  full capabilities inside it, no remount of the read-only tree;
* ``clone3`` answers ENOSYS: its flags sit behind a pointer a filter cannot read, and glibc then falls
  back to ``clone``, whose flags it can;
* ``io_uring_*`` (a second syscall interface seccomp cannot see into), ``bpf``, ``perf_event_open``,
  ``userfaultfd`` (race amplification), ``ptrace`` and ``process_vm_*``, kernel modules, ``kexec``,
  ``reboot``, ``swapon``/``swapoff``, ``acct``, ``quotactl``;
* sockets other than AF_UNIX, AF_INET and AF_INET6: AF_VSOCK is not covered by a network namespace (it
  would reach the hypervisor's vsock ports), AF_NETLINK and AF_PACKET open kernel interfaces (nf_tables,
  raw frames) that an empty network namespace does not need.

Denied calls fail with EPERM (ENOSYS for ``clone3``, EAFNOSUPPORT for a socket family), so well-behaved
code gets an ordinary error rather than being killed. Calls made through another architecture's entry
(32-bit ``int 0x80`` on x86-64) match no rule of this native filter and kill the process (libseccomp's
default for a foreign architecture).
"""

from __future__ import annotations

import errno
import os
from functools import cache

DENIED = (
    "add_key", "keyctl", "request_key",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "lookup_dcookie",
)  # fmt: skip
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_NEWTIME": 0x00000080,
}
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
ALLOWED_FAMILIES = (AF_UNIX, AF_INET, AF_INET6)


class SeccompUnavailable(RuntimeError):
    """libseccomp (or its binding) is missing: the sandbox refuses to run without the filter."""


@cache
def filter_program() -> bytes:
    """The filter as a BPF program (struct sock_filter[]), the form ``bwrap --seccomp FD`` reads."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError) as exc:  # RuntimeError: the binding found no libseccomp
        raise SeccompUnavailable(f"libseccomp is not available: {exc}") from exc

    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except OSError:  # a call this architecture does not have
            continue
    for flag in NAMESPACE_FLAGS.values():
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for call in ("socket", "socketpair"):
        # Every family below AF_INET6 that is not allowed, then everything above it.
        for family in range(0, AF_INET6):
            if family not in ALLOWED_FAMILIES:
                rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), call, seccomp.Arg(0, seccomp.EQ, family))
        rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), call, seccomp.Arg(0, seccomp.GT, AF_INET6))
    fd = os.memfd_create("learnpath-seccomp", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            rules.export_bpf(out)
        os.lseek(fd, 0, os.SEEK_SET)
        program = b""
        while chunk := os.read(fd, 65536):
            program += chunk
    finally:
        os.close(fd)
    if not program or len(program) % 8:
        raise SeccompUnavailable("libseccomp produced no filter")
    return program


def filter_fd() -> int:
    """A fresh, readable fd holding the program, for one bwrap (which reads it to the end). Caller closes."""
    program = filter_program()
    fd = os.memfd_create("learnpath-seccomp")  # inheritable: passed to bwrap with pass_fds
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
