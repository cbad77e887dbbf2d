"""The trusted half of the warm pool: a zygote sandbox, and the sandboxes it forks (see workers.sandbox.pool).

Imports torch (through the runner): loaded only in grading workers, on first use of the pool.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from workers.sandbox.keyring import join_fresh_session_keyring
from workers.sandbox.limits import Limits
from workers.sandbox.runner import (
    RLIMITS,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    _bwrap_args,
    _remove_cgroup,
    run_rlimits,
    sandbox_python,
)
from workers.sandbox.seccomp import SeccompUnavailable, filter_fd

logger = logging.getLogger(__name__)

ZYGOTE_PATH = Path(__file__).with_name("zygote.py")
KEYRING_PATH = Path(__file__).with_name("keyring.py")
PROCMASK_PATH = Path(__file__).with_name("procmask.py")
# Forking is milliseconds; this long without an answer means the zygote is wedged.
SPAWN_TIMEOUT = 10.0
READY_TIMEOUT = 90.0
ZYGOTE_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN")


class ZygoteFailed(SandboxUnavailable):
    """The zygote died or stopped answering before a run was handed to it; the run has not started."""


class Zygote:
    """One bwrap sandbox whose interpreter has imported torch and forks a sandbox per request."""

    def __init__(self, device: str = "cpu") -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailable("a zygote needs a root worker (it gives each run its own uid)")
        self.device = device
        self.runs = 0
        self.started = time.monotonic()
        self.ready = False
        self._lock = threading.Lock()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            seccomp_fd = filter_fd()
        except (SeccompUnavailable, OSError) as exc:
            parent.close()
            child.close()
            raise SandboxUnavailable(f"no seccomp filter: {exc}") from exc
        child.set_inheritable(True)
        args = _bwrap_args(device, tmp_mb=1, user_namespace=False)
        args += ["--ro-bind", str(ZYGOTE_PATH), "/opt/zygote.py", "--ro-bind", str(KEYRING_PATH), "/opt/keyring.py"]
        args += ["--ro-bind", str(PROCMASK_PATH), "/opt/procmask.py"]
        args += ["--cap-drop", "ALL"]
        for capability in ZYGOTE_CAPABILITIES:
            args += ["--cap-add", capability]
        args += [sandbox_python(), "-I", "-S", "-B", "/opt/zygote.py", str(child.fileno()), str(seccomp_fd)]
        args += ["/opt/site-packages"]
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(child.fileno(), seccomp_fd),
                close_fds=True,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                cwd="/",
                start_new_session=True,
                preexec_fn=_zygote_preexec,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            parent.close()
            raise SandboxUnavailable(f"could not start the zygote: {exc}") from exc
        finally:
            child.close()
            os.close(seccomp_fd)
        self.ctl = parent
        os.set_blocking(self.proc.stderr.fileno(), False)
        self._stderr = bytearray()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def diagnostics(self) -> str:
        """What the zygote wrote to its stderr lately (bounded)."""
        try:
            while chunk := os.read(self.proc.stderr.fileno(), 65536):
                self._stderr += chunk
                del self._stderr[:-8192]
        except (BlockingIOError, OSError, ValueError):
            pass
        return self._stderr.decode("utf-8", "replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if self.ready:
            return
        self.ctl.settimeout(timeout)
        try:
            message = self.ctl.recv(16)
        except (TimeoutError, OSError) as exc:
            self.close()
            raise ZygoteFailed(f"the zygote did not start: {exc!r}; {self.diagnostics()[-1000:]}") from exc
        if message != b"READY":
            self.close()
            raise ZygoteFailed(f"the zygote did not start: {self.diagnostics()[-1000:] or 'no output'}")
        self.ready = True

    def spawn(self, limits: Limits, device: str) -> ForkedSandbox:
        """A fresh sandbox forked for one run; raises :class:`ZygoteFailed` if this zygote cannot give one."""
        if device != self.device:
            raise ValueError(f"this zygote serves {self.device}, not {device}")
        self.wait_ready()
        with self._lock:
            self.runs += 1
        return ForkedSandbox(self, limits, device)

    def send(self, request: dict, fds: list[int]) -> None:
        if not self.alive():
            raise ZygoteFailed(f"the zygote has exited: {self.diagnostics()[-1000:]}")
        try:
            with self._lock:
                self.ctl.settimeout(SPAWN_TIMEOUT)
                self.ctl.sendmsg([json.dumps(request).encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _ints(fds))])
        except OSError as exc:
            raise ZygoteFailed(f"could not reach the zygote: {exc!r}") from exc

    def close(self) -> None:
        try:
            self.ctl.close()  # the zygote exits when its socket closes
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                logger.warning("zygote %s did not exit after SIGKILL", self.proc.pid)
        if self.proc.stderr:
            self.proc.stderr.close()


def _zygote_preexec() -> None:
    join_fresh_session_keyring()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _ints(fds: list[int]) -> bytes:
    return struct.pack(f"{len(fds)}i", *fds)


class ForkedSandbox(Sandbox):
    """A sandbox forked from a zygote for one run; see the module docstring for what it shares (nothing)."""

    pooled = True

    def __init__(self, zygote: Zygote, limits: Limits, device: str) -> None:
        super().__init__(limits, device)
        self.zygote = zygote
        self._status = bytearray()
        self._status_done = False
        if self.uid is None:  # only a root worker leases uids, and only a root zygote can drop to them
            self._release()
            raise SandboxUnavailable("a pooled sandbox needs a root worker")
        ends: list[int] = []
        mine: list[int] = []
        try:
            stdin_r, stdin_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            res_r, res_w = os.pipe()
            ends, mine = [stdin_r, out_w, err_w, res_w], [stdin_w, out_r, err_r, res_r]
            ctl, child_ctl = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            ctl.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self._ctl = ctl
            request = {
                "uid": self.uid,
                "tmp_bytes": limits.tmp_mb << 20,
                "rlimits": [[RLIMITS[name], soft, hard] for name, (soft, hard) in run_rlimits(limits, device).items()],
            }
            try:
                zygote.send(request, [*ends, child_ctl.fileno()])
            finally:
                child_ctl.close()
                for fd in ends:
                    os.close(fd)
                ends = []
            keeper = self._handshake()
            if self.cgroup is not None:
                # Before GO: everything the keeper forks from here on is charged to, capped by and killed with it.
                self.cgroup.attach(keeper)
            ctl.send(b"GO")
        except BaseException:
            for fd in ends + mine:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if hasattr(self, "_ctl"):
                self._ctl.close()
            self.kill()
            if self.cgroup is not None:
                _remove_cgroup(self.cgroup)
            raise
        self.keeper_pid = keeper
        self._stdin_file = os.fdopen(stdin_w, "wb")
        self._watch(out_r, "stdout")
        self._watch(err_r, "stderr")
        self._watch(res_r, "result")
        self._watch(ctl.fileno(), "status", owned=False)

    def _handshake(self) -> int:
        """The keeper's host pid, from the credentials the kernel attached to its HELLO."""
        self._ctl.settimeout(SPAWN_TIMEOUT)
        try:
            data, ancdata, _flags, _addr = self._ctl.recvmsg(16, socket.CMSG_SPACE(12))
        except (TimeoutError, OSError) as exc:
            raise ZygoteFailed(f"the zygote did not fork a sandbox in {SPAWN_TIMEOUT:g} s: {exc!r}") from exc
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 12:
                pid, uid, _gid = struct.unpack("3i", payload[:12])
                if data == b"HELLO" and uid == 0 and pid > 0:
                    return pid
        raise ZygoteFailed("the zygote's child did not identify itself")

    # -- Sandbox hooks -----------------------------------------------------------------------------

    def _stdin(self):
        return self._stdin_file

    def _on_status(self, data: bytes) -> None:
        if not data:
            self._status_done = True
            return
        self._status += data[:4096]
        try:
            report = json.loads(bytes(self._status))
            self.returncode = int(report["status"])
            self.cpu_used = float(report["cpu"])
        except (ValueError, KeyError, TypeError):
            return

    def _reap(self, block: bool) -> bool:
        if self.returncode is None and self._status_done:
            self.returncode = -signal.SIGKILL  # the keeper was killed with the run: no report
        return self.returncode is not None or self._status_done

    def _close_extra(self) -> None:
        for closer in (self._stdin_file.close, self._ctl.close):
            try:
                closer()
            except OSError:
                pass

    def run(self, code: str, *, entrypoint: str, cases, result) -> SandboxResult:
        outcome = super().run(code, entrypoint=entrypoint, cases=cases, result=result)
        if outcome.status in ("crashed", "timeout") and not self.zygote.alive():
            # The zygote's death takes its namespace, and this run, with it: not the learner's doing.
            raise ZygoteFailed(f"the zygote died during the run: {self.zygote.diagnostics()[-1000:]}")
        return outcome
