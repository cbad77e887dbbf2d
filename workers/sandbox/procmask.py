"""The parts of ``/proc`` a sandbox must not read or write: one list, applied on both paths.

A cold run's ``/proc`` is bubblewrap's (``--proc``), masked with the bwrap options of
:func:`bwrap_args`; a pooled run's is a fresh ``proc`` mount made by the zygote's init for its new PID
namespace (``workers/sandbox/zygote.py``), masked by :func:`apply` with the same lists. This file
imports only the standard library: the zygote loads it inside the sandbox as ``/opt/procmask.py``.

* ``HIDDEN``: unreadable from learner code. Files are covered by ``/dev/null`` on a ``nodev`` read-only
  bind (opening it fails with EACCES); directories by an empty, read-only tmpfs. ``cmdline`` is the
  host's kernel command line; ``pressure/*`` (PSI) is a side channel on the host's and other learners'
  gradings' CPU, memory and I/O stalls; ``key-users`` lists every uid's key quota on the host.
* ``READ_ONLY``: what bwrap itself binds read-only over its fresh ``/proc`` (bubblewrap 0.8.0's
  ``cover_proc_dirs``), so that nothing in the sandbox can write through them. bwrap only covers the
  ones it finds writable when it sets up; the zygote's init covers every one that exists.
"""

from __future__ import annotations

import os

HIDDEN = ("cmdline", "key-users", "pressure")
READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 1 << 14
_LOCKED = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
_EMPTY_DIR = "size=4096,mode=0555"


def bwrap_args(proc: str = "/proc") -> list[str]:
    """bwrap options masking ``HIDDEN`` in the sandbox's ``/proc``; they follow ``--proc``.

    Whether an entry exists is read from this process's ``/proc``: the same kernel as the sandbox's.
    """
    args: list[str] = []
    for name in HIDDEN:
        host, target = os.path.join("/proc", name), os.path.join(proc, name)
        if os.path.isdir(host):
            args += ["--perms", "0555", "--size", "4096", "--tmpfs", target, "--remount-ro", target]
        elif os.path.exists(host):
            args += ["--ro-bind", "/dev/null", target]
    return args


def apply(mount, proc: str = "/proc") -> None:
    """Mask a freshly mounted ``proc`` at ``proc`` as :func:`bwrap_args` and bwrap's ``--proc`` do.

    ``mount(source, target, fstype, flags, data=None)`` is mount(2) that raises OSError on failure; the
    caller holds CAP_SYS_ADMIN in a private mount namespace. Any failure propagates: no run without masks.
    """
    for name in READ_ONLY:
        target = os.path.join(proc, name)
        if os.path.lexists(target):
            mount(target, target, None, MS_BIND | MS_REC)
            mount("none", target, None, MS_BIND | MS_REMOUNT | _LOCKED)
    for name in HIDDEN:
        target = os.path.join(proc, name)
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", _LOCKED, _EMPTY_DIR)
        elif os.path.lexists(target):
            mount("/dev/null", target, None, MS_BIND)
            mount("none", target, None, MS_BIND | MS_REMOUNT | _LOCKED)
