"""Kernel keyrings: each sandbox run starts in a fresh, empty session keyring of its own.

``setresuid`` keeps a process's session keyring, and bubblewrap does not replace it, so without this a
sandbox would inherit the grading worker's session keyring (every service under systemd or a container
runtime has one). Before bwrap starts, the child joins a new anonymous session keyring, which its whole
tree inherits and which the kernel destroys with the run's last process; the seccomp filter denies the
keyring calls inside, so nothing can be read from it, planted in it, or added to the run uid's user keyring.
"""

from __future__ import annotations

import ctypes
import os
import platform

KEYCTL_JOIN_SESSION_KEYRING = 1
# keyctl's number per architecture (asm/unistd.h).
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "ppc64le": 271, "s390x": 280}

_libc = ctypes.CDLL(None, use_errno=True)


def join_fresh_session_keyring() -> None:
    """Make the calling process (and its future children) use a new, empty, anonymous session keyring.

    Called in the sandbox's preexec (after fork, before exec). Raises OSError if the kernel refuses.
    """
    number = SYS_KEYCTL.get(platform.machine())
    if number is None:
        raise OSError(f"keyctl's syscall number is unknown on {platform.machine()}")
    if _libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def uid_has_keys(uid: int) -> bool:
    """True when the kernel still holds keys owned by ``uid`` (``/proc/key-users``)."""
    try:
        with open("/proc/key-users") as fh:
            return any(line.split(":", 1)[0].strip() == str(uid) for line in fh)
    except OSError:
        return False
