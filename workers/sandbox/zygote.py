"""In-sandbox zygote: imports torch once, then forks one isolated child per submission.

This file runs *inside* bubblewrap (``workers.sandbox.pool`` starts it), as real root with only
CAP_SETUID, CAP_SETGID and CAP_SYS_ADMIN, in the same read-only filesystem, empty network and fresh
PID/IPC/UTS namespaces as a cold sandbox. It imports nothing from the project: only the standard library,
the harness (``/opt/harness.py``), the keyring helper (``/opt/keyring.py``), the /proc masks
(``/opt/procmask.py``) and, through the harness,
torch and safetensors. **No learner code ever runs in this process.** It does not initialise CUDA either;
a child that grades on a GPU initialises it after taking its submission.

Why a zygote: a cold run pays a fresh interpreter and ``import torch`` (about a second of CPU); a fork of
a process that has already imported them costs milliseconds. The fork must not cost isolation, so each
child (the run's *init*) rebuilds, per submission, what bwrap gives a cold run:

1. The trusted parent hands the zygote, over its control socket, the run's pipes (stdin, stdout,
   stderr, result), a control socket of the run's own, and the run's uid and limits.
2. The zygote forks the **keeper**, which closes every descriptor but the run's (the zygote's own
   control socket included) and sends its credentials (``SCM_CREDENTIALS``: the kernel translates the
   pid for the parent). The parent moves it into the run's cgroup and answers ``GO``.
3. The keeper unshares new mount, PID, IPC, network, UTS and cgroup namespaces and forks the run's
   **init**, PID 1 of the new PID namespace, then waits for it and reports its exit status and CPU time.
4. The init makes every mount private, mounts a fresh ``/proc`` (only the run's processes) masked as
   bwrap masks a cold run's (``procmask``: read-only ``/proc/sys`` etc., no ``/proc/cmdline``), a fresh,
   capped ``/tmp`` and ``/dev/shm``, joins a new, empty session keyring and forks the **harness**; it
   stays root, reaping, as bwrap's init does for a cold run.
5. The harness sets the run's rlimits, drops to the run's uid (which clears every capability; bwrap has
   set no_new_privs), installs the seccomp filter and only then reads the submission and runs it
   (``harness.serve``, which first reseeds torch's, Python's and numpy's generators from the OS, so no
   run replays the zygote's draws).

So a child sees no process, file, SysV/POSIX IPC object, socket, keyring or module state of an earlier
one: everything it could have left behind lived in namespaces, mounts and processes that died with it,
and the zygote's own interpreter state is the pristine state every child is forked from.

The read-only tree is the zygote's own, made by bwrap before the zygote started, hidden-data masks included
(``workers.sandbox.layout``: an empty tmpfs over every sandbox path at which scikit-learn's data appears).
A run's new mount namespace is a copy of it, so the masks are in place before the run exists, and its
harness, without a capability, can neither unmount nor move them. Nothing here mounts over them either:
the init only adds ``/proc``, ``/tmp`` and ``/dev/shm``. ``workers.sandbox.selftest`` checks a forked run,
not only a cold one, because this inheritance is what a pooled run's privacy rests on.

Control protocol (AF_UNIX SOCK_SEQPACKET, one JSON message each):

* zygote -> parent: ``READY`` once torch is imported.
* parent -> zygote: the run request (JSON), with 5 descriptors as ``SCM_RIGHTS``.
* keeper -> parent (run socket): ``HELLO`` with ``SCM_CREDENTIALS``; parent -> keeper: ``GO``;
  keeper -> parent: ``{"status": exit code, "cpu": seconds}`` when the runner has exited.
"""

from __future__ import annotations

import array
import ctypes
import errno
import importlib.util
import json
import os
import resource
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2
MAX_REQUEST = 1 << 16
RUN_FDS = 5  # stdin, stdout, stderr, result, run control socket
RESULT_FD, RUN_CTL_FD = 3, 4

_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                    data.encode() if data else None),
        f"mount {target}",
    )  # fmt: skip


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recv_request(ctl: socket.socket) -> tuple[dict, list[int]] | None:
    fds = array.array("i")
    data, ancdata, _flags, _addr = ctl.recvmsg(MAX_REQUEST, socket.CMSG_SPACE(RUN_FDS * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    if not data:
        return None
    if len(fds) != RUN_FDS:
        for fd in fds:
            os.close(fd)
        raise ValueError(f"expected {RUN_FDS} descriptors, got {len(fds)}")
    return json.loads(data), list(fds)


def _reap(_signum, _frame) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _place_fds(fds: list[int]) -> None:
    """Put the run's descriptors at 0..4 and close every other one (the zygote's control socket too)."""
    high = [os.dup(fd) for fd in fds]  # above anything we are about to overwrite
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    os.closerange(RUN_FDS, os.sysconf("SC_OPEN_MAX"))


def _keeper(request: dict, fds: list[int], harness, keyring, procmask, runtime, program: bytes) -> None:
    """The run's first process: joins its cgroup through the parent, makes the namespaces, waits. Never returns."""
    code = 70
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _place_fds(fds)
        ctl = socket.socket(fileno=RUN_CTL_FD)
        creds = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
        ctl.sendmsg([b"HELLO"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
        if ctl.recv(16) != b"GO":
            os._exit(code)
        _check(
            _libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWCGROUP),
            "unshare",
        )
        pid = os.fork()
        if pid == 0:
            _init(request, harness, keyring, procmask, runtime, program)
        for fd in range(RESULT_FD + 1):
            os.close(fd)
        _, status, usage = os.wait4(pid, 0)  # the init's usage includes the harness it reaped
        report = {"status": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}
        ctl.send(json.dumps(report).encode())
        code = 0
    except BaseException as exc:  # noqa: BLE001 - the parent sees the run end without a report
        _say(f"zygote keeper: {exc!r}")
    os._exit(code)


def _init(request: dict, harness, keyring, procmask, runtime, program: bytes) -> None:
    """PID 1 of the run's namespace: fresh mounts, then the harness as its child, reaped. Never returns.

    It stays root (so the learner's uid can neither signal nor trace it) and exits with the harness's
    status (128 + signal when killed), which the keeper reports.
    """
    code = 71
    try:
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        os.close(RUN_CTL_FD)
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        procmask.apply(_mount)  # before anything of the run's exists: the cold path's /proc masks
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(request['tmp_bytes'])},mode=1777")
        if os.path.isdir("/dev/shm"):
            _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=1777")
        os.chdir("/tmp")
        keyring.join_fresh_session_keyring()
        pid = os.fork()
        if pid == 0:
            _harness(request, harness, runtime, program)
        for fd in range(RESULT_FD + 1):
            os.close(fd)
        while True:  # orphans of the run are reparented here; reap them until the harness is done
            child, status = os.wait()
            if child == pid:
                break
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
    except BaseException as exc:  # noqa: BLE001 - no READY reaches the parent: an infrastructure failure
        _say(f"zygote init: {exc!r}")
    os._exit(code)


def _harness(request: dict, harness, runtime, program: bytes) -> None:
    """The run's harness: its rlimits, the run's uid (no capabilities left), the seccomp filter, the code."""
    try:
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        for which, soft, hard in request["rlimits"]:  # the host's RLIMIT_* numbers: the same kernel
            resource.setrlimit(int(which), (int(soft), int(hard)))
        uid = int(request["uid"])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise OSError("failed to drop privileges")
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
        _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")
    except BaseException as exc:  # noqa: BLE001 - no READY reaches the parent: an infrastructure failure
        _say(f"zygote harness: {exc!r}")
        os._exit(71)
    # What a cold run's harness sees: its own path, the result descriptor, the packages directory.
    sys.argv = ["/opt/harness.py", str(RESULT_FD), "/opt/site-packages"]
    try:
        harness.serve(runtime, RESULT_FD)
    finally:
        os._exit(72)


def _say(text: str) -> None:
    try:
        os.write(2, (text + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def main() -> None:
    ctl_fd, seccomp_fd, site_packages = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    harness = _load("harness", "/opt/harness.py")
    keyring = _load("keyring", "/opt/keyring.py")
    procmask = _load("procmask", "/opt/procmask.py")
    program = b""
    while chunk := os.read(seccomp_fd, 65536):
        program += chunk
    os.close(seccomp_fd)
    if not program or len(program) % 8:
        raise SystemExit("zygote: no seccomp filter")
    runtime = harness.load_runtime(site_packages)
    ctl = socket.socket(fileno=ctl_fd)
    signal.signal(signal.SIGCHLD, _reap)
    ctl.send(b"READY")
    while True:
        try:
            received = _recv_request(ctl)
        except (ValueError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (errno.EMSGSIZE, None):
                raise
            _say(f"zygote: bad request: {exc!r}")
            continue
        if received is None:  # the parent closed the socket: the pool is shutting down
            os._exit(0)
        request, fds = received
        pid = os.fork()
        if pid == 0:
            _keeper(request, fds, harness, keyring, procmask, runtime, program)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    main()
