"""Run learner code in a fresh bubblewrap sandbox and bring back validated tensors.

Isolation, and why each choice:

* ``bwrap`` with new IPC, PID, network, UTS and cgroup namespaces (everything ``--unshare-all``
  covers except the user namespace, see below), ``--die-with-parent`` and ``--new-session``
  (no TIOCSTI into our terminal). The network namespace is empty: loopback only, on which nothing
  listens, so Redis/PostgreSQL on the host's 127.0.0.1 are unreachable.
* Filesystem: a fresh tmpfs root holding read-only binds of only ``/usr`` (+ the ``/lib*``
  symlinks of a merged-/usr Debian), ``/etc/ld.so.cache`` (the loader needs it to find
  multiarch libraries), the Python runtime (``sys.base_prefix``) at ``/opt/python``, the venv's
  site-packages at ``/opt/site-packages`` and the harness file. ``/proc`` and ``/dev`` are fresh
  instances, ``/tmp`` is a private tmpfs capped with ``--size``. Nothing else: not the project
  tree, not ``/etc``, not home directories, not ``/var``. There is **no writable host path** at all:
  inputs arrive on stdin and results leave on a pipe that the parent reads with a byte bound, so a
  planted symlink or a disk-filling loop has nowhere to land.
  Data sets that ship inside packages and that a hidden evaluation is built from (scikit-learn's
  digits, ``HIDDEN_PACKAGE_DATA``) are covered by an empty read-only tmpfs at **every** sandbox path where
  a bind shows them, computed from their real paths (``workers.sandbox.layout``: in the Docker image they
  appear under ``/usr/local/...``, ``/opt/python/...`` and ``/opt/site-packages/...``). A self-test run
  inside a real sandbox before a process's first run proves none of them readable
  (``workers.sandbox.selftest``); if one is, every run is refused.
* User: when the worker is root (the usual container setup), bwrap runs as real root so it can
  reach the runtime under ``/root`` (mode 0700) for its bind mounts, with every capability dropped
  except CAP_SETUID/CAP_SETGID; the harness's first act is to ``setresuid`` to a dedicated host uid
  picked per run from an unused range, which clears all capabilities (bwrap has already set
  no_new_privs). A user namespace is deliberately *not* used in this mode: mapping a sandbox uid to
  the caller would make the learner host-root for file access. A per-run uid means RLIMIT_NPROC
  counts only this run's processes and lets the parent sweep any straggler by uid afterwards.
  When the worker is not root, bwrap runs unprivileged with ``--unshare-user --uid 65534``; the
  runtime must then be readable by the worker's user.
* Limits: RLIMIT_CPU/NPROC/FSIZE/NOFILE/CORE=0 (and RLIMIT_AS on CPU) are set in a preexec on
  bwrap and inherited; wall clock, stdout/stderr bytes and result bytes are enforced here. On CUDA
  RLIMIT_AS cannot be used (the driver reserves huge virtual ranges), so the parent polls the RSS of
  every process of the run's uid and kills the run past ``memory_mb``; GPU memory is soft-capped in
  the harness with ``set_per_process_memory_fraction`` and freed by the driver when the process dies.
* No fallback: if bwrap is missing or cannot start, :class:`SandboxUnavailable` is raised.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import resource
import secrets
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from workers.sandbox.cases import Case, CaseOutput, ModuleSpec, ResultMode, StateDictResult, TensorResult
from workers.sandbox.cgroup import (
    CgroupUnavailable,
    IoDevices,
    IoLimit,
    RunCgroup,
    cgroup_support,
    io_devices,
    io_support,
)
from workers.sandbox.keyring import join_fresh_session_keyring
from workers.sandbox.layout import HIDDEN_PACKAGE_DATA as HIDDEN_PACKAGE_DATA  # challenge docs name it here
from workers.sandbox.layout import Bind, Mask, hidden_paths, mask_args, mask_targets
from workers.sandbox.limits import IO_LIMIT_DEFAULTS, Limits
from workers.sandbox.procmask import bwrap_args as proc_mask_args
from workers.sandbox.seccomp import SeccompUnavailable, filter_fd, filter_program
from workers.sandbox.uids import UidLease, UidUnavailable, uid_processes

logger = logging.getLogger(__name__)

HARNESS_PATH = Path(__file__).with_name("harness.py")
READY_MAGIC = b"LPREADY\n"
REQUEST_MAGIC = b"LPREQ1\n"
RESULT_MAGIC = b"LPRES1\n"
TAIL_BYTES = 8 * 1024
MAX_TEXT = 4000
# The JSON manifest (and a safetensors header) is metadata: far below this even for 256 state entries.
MAX_MANIFEST_BYTES = 1 << 20
MAX_STATE_ENTRIES = 256
# The harness cuts a parameter's name to this many characters; a longer one was not written by it.
MAX_STATE_NAME = 200

Status = Literal["ok", "error", "timeout", "memory", "output_limit", "crashed"]


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or could not start: an infrastructure failure, never the learner's fault."""


@dataclass
class SandboxResult:
    status: Status
    cases: list[CaseOutput]
    stdout_tail: str
    stderr_tail: str
    wall_seconds: float
    device: str
    message: str = ""
    error: dict[str, str] | None = None  # learner traceback when status == "error"
    startup_seconds: float = 0.0
    pooled: bool = False  # forked from a warm zygote rather than started cold


# --------------------------------------------------------------------------- request encoding


def _encode_request(
    code: str, entrypoint: str, cases: list[Case], device: str, limits: Limits, result: ResultMode
) -> tuple[bytes, list[dict]]:
    header_cases = []
    tensors: dict[str, torch.Tensor] = {}
    expected: list[dict] = []
    for index, case in enumerate(cases):
        scalars: dict[str, Any] = {}
        names: list[str] = []
        modules: dict[str, dict] = {}
        for name, value in case.args.items():
            if not name.isidentifier():
                raise ValueError(f"bad argument name {name!r}")
            if isinstance(value, torch.Tensor):
                tensors[f"c{index}.{name}"] = value.detach().to("cpu").contiguous()
                names.append(name)
            elif isinstance(value, ModuleSpec):
                shapes = value.parameter_shapes()
                if set(value.state) != set(shapes):
                    raise ValueError(f"module {name!r}: state does not match its layers")
                for param, tensor in value.state.items():
                    tensors[f"c{index}.{name}.{param}"] = tensor.detach().to("cpu", torch.float32).contiguous()
                modules[name] = {"layers": [list(layer) for layer in value.layers], "trainable": value.trainable}
            elif value is None or isinstance(value, (bool, int, float, str)):
                scalars[name] = value
            else:
                raise TypeError(f"case argument {name!r} must be a tensor, a ModuleSpec or a JSON scalar")
        for n in case.grad:
            if n not in names:
                raise ValueError(f"gradient requested for non-tensor argument {n!r}")
        if isinstance(result, StateDictResult):
            spec = case.args.get(result.module)
            if not isinstance(spec, ModuleSpec):
                raise ValueError(f"result module {result.module!r} is not a module argument")
            shapes = spec.parameter_shapes()
        else:
            shapes = {}
        header_cases.append({"scalars": scalars, "tensors": names, "modules": modules, "grad": list(case.grad)})
        series_max = result.series_max if isinstance(result, StateDictResult) else 0
        expected.append({"tensors": names, "grad": list(case.grad), "state": shapes, "series_max": series_max})
    if isinstance(result, StateDictResult):
        result_header = {"mode": "state_dict", "module": result.module, "series_max": result.series_max}
    else:
        result_header = {"mode": "tensor"}
    header = {
        "code": code,
        "entrypoint": entrypoint,
        "device": device,
        "cases": header_cases,
        "result": result_header,
        "gpu_memory_bytes": limits.memory_mb << 20,
    }
    body = json.dumps(header).encode()
    blob = st_save(tensors) if tensors else st_save({"__empty__": torch.zeros(0)})
    payload = REQUEST_MAGIC + struct.pack(">Q", len(body)) + body + struct.pack(">Q", len(blob)) + blob
    return payload, expected


# --------------------------------------------------------------------------- result decoding


class _Malformed(Exception):
    pass


def _text(value: object, limit: int = MAX_TEXT) -> str:
    """Learner text as valid UTF-8 (a lone surrogate becomes "?"), cut to ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    return value[:limit].encode("utf-8", "replace").decode("utf-8")


def _error_dict(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {k: _text(value.get(k)) for k in ("type", "message", "traceback")}


def _max_tensor_keys(expected: list[dict]) -> int:
    """The most tensors a well-formed result can hold: result, grads, inputs-after, state, per case."""
    return sum(1 + len(e["grad"]) + len(e["tensors"]) + (MAX_STATE_ENTRIES if e["state"] else 0) for e in expected)


def _series_max(exp: dict) -> int:
    """The most points the harness sends back for a case's series (direct decoder tests may omit it)."""
    return exp.get("series_max", StateDictResult.series_max) if exp["state"] else 0


def _check_safetensors_header(blob: bytes, max_keys: int, series: dict[str, int] | None = None) -> None:
    """Read only the safetensors header (bounded) before parsing tensors: a result listing a million
    tensors, or with shapes whose sizes overflow, is refused without the parser building any of them.

    ``series`` maps each series key to the most points the harness writes for it: a longer series, or
    one that is not float64 numbers, is refused here, before any of it is loaded."""
    if not blob:
        return
    if len(blob) < 8:
        raise _Malformed("truncated safetensors")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > min(len(blob) - 8, MAX_MANIFEST_BYTES):
        raise _Malformed("safetensors header too large")
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Malformed("safetensors header is not JSON") from exc
    if not isinstance(header, dict):
        raise _Malformed("bad safetensors header")
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    if len(entries) > max_keys:
        raise _Malformed("too many tensors")
    data_size = len(blob) - 8 - size
    series = series or {}
    for name, info in entries:
        if not isinstance(info, dict):
            raise _Malformed("bad tensor entry")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not isinstance(shape, list) or len(shape) > 8 or not all(type(d) is int and 0 <= d < 2**40 for d in shape):
            raise _Malformed("bad tensor shape")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets):
            raise _Malformed("bad tensor offsets")
        if not 0 <= offsets[0] <= offsets[1] <= data_size:
            raise _Malformed("tensor outside the data")
        elements = 1
        for d in shape:
            elements *= d
        if elements > data_size:  # every dtype takes at least one byte an element
            raise _Malformed("tensor larger than the data")
        if name in series:
            if info.get("dtype") != "F64" or len(shape) != 1:
                raise _Malformed("the returned series is not a list of numbers")
            if shape[0] > series[name]:
                raise _Malformed(f"the returned series has more than {series[name]:,} points")


def _decode_result(raw: bytes, expected: list[dict]) -> tuple[str, list[CaseOutput], dict | None]:
    """Parse the untrusted result stream. Any deviation from the schema raises _Malformed."""
    if not raw.startswith(RESULT_MAGIC):
        raise _Malformed("missing result header")
    pos = len(RESULT_MAGIC)

    def frame(limit: int | None = None) -> bytes:
        nonlocal pos
        if pos + 8 > len(raw):
            raise _Malformed("truncated")
        (n,) = struct.unpack(">Q", raw[pos : pos + 8])
        pos += 8
        if limit is not None and n > limit:  # refused from its length alone: not copied, not parsed
            raise _Malformed(f"results manifest larger than {limit:,} bytes")
        if n > len(raw) - pos:
            raise _Malformed("truncated")
        data = raw[pos : pos + n]
        pos += n
        return data

    manifest_bytes = frame(MAX_MANIFEST_BYTES)
    try:
        # ValueError also covers integers longer than Python's digit limit.
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Malformed("manifest is not JSON") from exc
    blob = frame()
    if pos != len(raw):
        raise _Malformed("trailing bytes after result")
    if not isinstance(manifest, dict) or manifest.get("version") != 1:
        raise _Malformed("bad manifest")
    status = manifest.get("status")
    if status not in ("ok", "error", "memory"):
        raise _Malformed("bad status")
    series_limits = {f"c{i}.series": _series_max(e) for i, e in enumerate(expected) if e["state"]}
    _check_safetensors_header(blob, _max_tensor_keys(expected), series_limits)
    try:
        tensors = st_load(blob) if blob else {}
    except Exception as exc:  # any failure to parse is a malformed result (safetensors never unpickles)
        raise _Malformed("bad safetensors") from exc
    if status == "error":
        return status, [], _error_dict(manifest.get("error")) or {"type": "", "message": "", "traceback": ""}
    if status == "memory":
        # The harness stopped mid-case; whatever partial records exist are of no use to a verdict.
        return status, [], None

    raw_cases = manifest.get("cases")
    if not isinstance(raw_cases, list) or len(raw_cases) > len(expected):
        raise _Malformed("bad cases")
    if status == "ok" and len(raw_cases) != len(expected):
        raise _Malformed("missing cases")
    used: set[str] = set()

    def take(key: object, want: str) -> torch.Tensor:
        if key != want or key not in tensors or key in used:
            raise _Malformed(f"unexpected tensor key {key!r}")
        used.add(want)
        t = tensors[want]
        if type(t) is not torch.Tensor:
            raise _Malformed("not a tensor")
        return t

    cases: list[CaseOutput] = []
    for index, rc in enumerate(raw_cases):
        if not isinstance(rc, dict) or rc.get("index") != index or not isinstance(rc.get("ok"), bool):
            raise _Malformed("bad case record")
        exp = expected[index]
        out = CaseOutput(index=index, ok=rc["ok"], error=_error_dict(rc.get("error")))
        seconds = rc.get("seconds")
        if type(seconds) is float and 0.0 <= seconds < 1e6:
            out.seconds = seconds
        backward = rc.get("backward")
        if backward not in ("not_requested", "done", "skipped_not_scalar", "no_grad_fn"):
            raise _Malformed("bad backward marker")
        out.backward = backward
        res = rc.get("result")
        if res is not None:
            if not isinstance(res, dict) or res.get("kind") not in ("tensor", "series", "other"):
                raise _Malformed("bad result")
            if res["kind"] == "tensor" and not exp["state"]:
                out.result = take(res.get("key"), f"c{index}.result")
                out.result_type = "Tensor"
            elif res["kind"] == "series" and exp["state"]:
                series = take(res.get("key"), f"c{index}.series")
                if series.dtype != torch.float64 or series.dim() != 1 or series.numel() > _series_max(exp):
                    raise _Malformed("bad series")
                out.result = series
                out.result_type = "series"
            elif res["kind"] == "other":
                out.result_type = _text(res.get("type"), 200) or "<unknown>"
            else:
                raise _Malformed("result of the wrong mode")
        elif out.ok:
            raise _Malformed("ok case without result")
        grads = rc.get("grads")
        after = rc.get("inputs_after")
        if not isinstance(grads, dict) or not isinstance(after, dict):
            raise _Malformed("bad grads/inputs")
        if set(grads) - set(exp["grad"]) or set(after) - set(exp["tensors"]):
            raise _Malformed("unexpected names")
        if exp["state"]:
            _decode_state(rc, exp["state"], out, take)
        else:
            for name in exp["grad"]:
                key = grads.get(name)
                out.grads[name] = None if key is None else take(key, f"c{index}.grad.{name}")
            for name in exp["tensors"]:
                if name not in after:
                    raise _Malformed("missing input-after tensor")
                out.inputs_after[name] = take(after[name], f"c{index}.after.{name}")
        cases.append(out)
    if set(tensors) - used:
        raise _Malformed("unexpected extra tensors")
    return status, cases, None


def _decode_state(rc: dict, shapes: dict[str, tuple[int, ...]], out: CaseOutput, take) -> None:
    """A trained module's parameters: exactly the expected names, shapes, float32, all finite.

    A mismatch is the learner's doing (a swapped layer, an extra parameter), so it becomes
    ``state_problem``, reported as a failed check; a record that breaks the protocol is _Malformed.
    """
    if "state_error" in rc:
        out.state_problem = "Reading your student's parameters raised an error:\n" + (
            (_error_dict(rc["state_error"]) or {}).get("traceback", "")
        )
        return
    names = rc.get("state")
    if not isinstance(names, dict) or len(names) > MAX_STATE_ENTRIES:
        raise _Malformed("bad state record")
    state = {}
    for name, key in names.items():
        if not isinstance(name, str) or not isinstance(key, str) or not key.startswith(f"c{out.index}.state."):
            raise _Malformed("bad state key")
        if len(name) > MAX_STATE_NAME:
            raise _Malformed(f"a parameter name longer than {MAX_STATE_NAME} characters")
        state[name] = take(key, key)
    out.state = state
    extra = sorted(set(state) - set(shapes))
    missing = sorted(set(shapes) - set(state))
    if extra or missing:
        parts = []
        if extra:
            parts.append("unexpected " + ", ".join(repr(n[:60]) for n in extra[:5]))
        if missing:
            parts.append("missing " + ", ".join(repr(n) for n in missing[:5]))
        out.state_problem = "The student's parameters are not the ones it was given: " + "; ".join(parts) + "."
        return
    for name, shape in shapes.items():
        tensor = state[name]
        if tuple(tensor.shape) != tuple(shape):
            out.state_problem = (
                f"The student's {name} has shape {tuple(tensor.shape)}, expected {tuple(shape)}: "
                "train the student you were given, with its own layers."
            )
            return
        if tensor.dtype != torch.float32:
            out.state_problem = f"The student's {name} is {str(tensor.dtype).removeprefix('torch.')}, expected float32."
            return
        if not bool(torch.isfinite(tensor).all()):
            out.state_problem = f"The student's {name} holds NaN or infinite values."
            return


# --------------------------------------------------------------------------- process plumbing


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def _bwrap_path() -> str:
    path = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)
    if not path:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed; refusing to run learner code unsandboxed")
    return path


def _bind_system_links(args: list[str]) -> None:
    """The top-level links of a merged-/usr system (``/lib -> usr/lib``): links inside the sandbox, resolved
    by the kernel to ``/usr``, where the ``/usr`` bind and its masks are."""
    for top in ("/lib", "/lib64", "/bin", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]


def _system_binds() -> list[Bind]:
    binds = [Bind("--ro-bind", "/usr", "/usr")]
    for top in ("/lib", "/lib64", "/bin", "/sbin"):
        if os.path.isdir(top) and not os.path.islink(top):  # a system without merged /usr
            binds.append(Bind("--ro-bind", top, top))
    if os.path.exists("/etc/ld.so.cache"):
        binds.append(Bind("--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"))
    return binds


def _cuda_binds() -> list[Bind]:
    # Device nodes only; the driver's user-space libraries (libcuda.so) live under /usr/lib,
    # already bound, and the CUDA runtime ships inside the torch/nvidia wheels in site-packages.
    binds = []
    for node in sorted(glob.glob("/dev/nvidia*")):
        if os.path.exists(node) and not os.path.isdir(node):
            binds.append(Bind("--dev-bind", node, node))
    if os.path.isdir("/dev/nvidia-caps"):
        binds.append(Bind("--dev-bind", "/dev/nvidia-caps", "/dev/nvidia-caps"))
    # The driver reads topology from sysfs; read-only and needed for device enumeration.
    for path in ("/sys/bus/pci", "/sys/devices", "/sys/module/nvidia"):
        if os.path.exists(path):
            binds.append(Bind("--ro-bind", path, path))
    return binds


def sandbox_binds(device: str) -> list[Bind]:
    """Every host path a sandbox for ``device`` shows, in mount order: the system's ``/usr`` (and the loader's
    cache), the Python runtime (``sys.base_prefix``) at ``/opt/python``, the packages at ``/opt/site-packages``,
    the harness, and on CUDA the GPU's device nodes and sysfs. The masks of :func:`sandbox_masks` are computed
    from this one list, so a bind added here is masked like the others."""
    binds = _system_binds()
    binds.append(Bind("--ro-bind", sys.base_prefix, "/opt/python"))
    binds.append(Bind("--ro-bind", _site_packages(), "/opt/site-packages"))
    binds.append(Bind("--ro-bind", str(HARNESS_PATH), "/opt/harness.py"))
    if device.startswith("cuda"):
        binds += _cuda_binds()
    return binds


def sandbox_masks(binds: list[Bind]) -> list[Mask]:
    """What covers every copy of ``HIDDEN_PACKAGE_DATA`` wherever any of ``binds`` shows it
    (``workers.sandbox.layout``): the training challenge's data must stay outside."""
    return mask_targets(binds, hidden_paths(binds))


def _bwrap_args(device: str, *, tmp_mb: int, user_namespace: bool) -> list[str]:
    """bwrap and every option a sandboxed interpreter needs, up to (not including) its capabilities,
    seccomp filter and command: namespaces, environment, the read-only tree and its masks, /proc, /dev, /tmp."""
    args = [_bwrap_path()]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if user_namespace:
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    if device.startswith("cuda") and os.environ.get("CUDA_VISIBLE_DEVICES"):
        # One worker per GPU is started with CUDA_VISIBLE_DEVICES=N; the harness initialises CUDA before the
        # learner's code is loaded, so the choice holds for the run (docs/operations.md).
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    binds = sandbox_binds(device)
    _bind_system_links(args)
    args += ["--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/opt"]
    # The GPU's device nodes go on the fresh /dev, so after it (its sysfs with them, as it always has).
    late = ("/dev/", "/sys/")
    for bind in binds:
        if not bind.dest.startswith(late):
            args += [bind.option, bind.source, bind.dest]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += proc_mask_args("/proc")  # the same masks the zygote applies to a pooled run's /proc
    for bind in binds:
        if bind.dest.startswith(late):
            args += [bind.option, bind.source, bind.dest]
    # After every bind, so that each covers whatever any bind shows; a pooled run inherits them from its zygote.
    args += mask_args(sandbox_masks(binds))
    args += ["--size", str(tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp", "--chdir", "/tmp"]
    return args


def sandbox_python() -> str:
    """The runtime's interpreter as the sandbox sees it."""
    return f"/opt/python/bin/python{sys.version_info.major}.{sys.version_info.minor}"


def _build_command(limits: Limits, device: str, result_fd: int, uid: int | None, seccomp_fd: int) -> list[str]:
    args = _bwrap_args(device, tmp_mb=limits.tmp_mb, user_namespace=uid is None)
    # Applied by bwrap to the sandboxed child just before it execs the harness (see workers.sandbox.seccomp).
    args += ["--seccomp", str(seccomp_fd)]
    if uid is not None:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += [sandbox_python(), "-I", "-S", "-B", "/opt/harness.py", str(result_fd), "/opt/site-packages"]
    if uid is not None:
        args += [str(uid), str(uid)]
    return args


def run_rlimits(limits: Limits, device: str) -> dict[str, tuple[int, int]]:
    """The per-process limits of a run, by name (soft, hard): set before the learner's code exists."""
    soft_cpu = int(limits.cpu_seconds)
    rlimits = {
        # SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
        "cpu": (soft_cpu, soft_cpu + 1),
        "nproc": (limits.processes, limits.processes),
        "fsize": (limits.file_size_mb << 20, limits.file_size_mb << 20),
        "nofile": (limits.open_files, limits.open_files),
        "core": (0, 0),
    }
    if not device.startswith("cuda"):
        rlimits["as"] = (limits.memory_mb << 20, limits.memory_mb << 20)
    return rlimits


RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
    "as": resource.RLIMIT_AS,
}


def _preexec(limits: Limits, device: str, group: RunCgroup | None):
    rlimits = run_rlimits(limits, device)

    def apply() -> None:
        if group is not None:
            # Everything this run starts is charged to, capped by and killed with its own cgroup.
            group.attach_self()
        # Not the worker's session keyring: a fresh, empty one for this run's tree (workers.sandbox.keyring).
        join_fresh_session_keyring()
        for name, value in rlimits.items():
            resource.setrlimit(RLIMITS[name], value)

    return apply


# Above the learner's own budget: bwrap's two processes, and the private /tmp, whose pages are charged too.
CGROUP_EXTRA_PROCESSES = 4


_cgroups_work = False
_cgroup_problems_logged: set[str] = set()


def cgroup_problem() -> str | None:
    """Why this host gives sandboxes no cgroup of their own (each reason logged once), or None when it does.

    Only success is remembered: a failed probe (a host not delegated yet) is tried again on the next run.
    """
    global _cgroups_work
    if _cgroups_work:
        return None
    problem = cgroup_support()
    if problem is None:
        _cgroups_work = True
    elif problem not in _cgroup_problems_logged:
        _cgroup_problems_logged.add(problem)
        logger.warning("sandbox runs get no cgroup of their own: %s (see docs/operations.md)", problem)
    return problem


def support_problems(device: str = "cpu") -> list[str]:
    """What this host lacks for a fully isolated sandbox, in words an operator can act on ([] when nothing).

    Where a sandbox can start, the hidden-data self-test of a cold sandbox for ``device`` is one of them
    (``workers.sandbox.selftest``): its problem means that grading is refused until the data is hidden.
    """
    problems = []
    try:
        _bwrap_path()
    except SandboxUnavailable as exc:
        problems.append(str(exc))
    try:
        filter_program()
    except SeccompUnavailable as exc:
        problems.append(f"{exc}: sandboxes cannot start (install libseccomp2)")
    if problem := cgroup_problem():
        problems.append(f"no per-run cgroup ({problem}); runs are capped per process only")
    elif problem := io_problem():
        problems.append(f"the disk I/O of runs is not limited: {problem}")
    if problem := _hidden_data_problem(device):
        problems.append(problem)
    return problems


def _hidden_data_problem(device: str) -> str | None:
    """The cold sandbox's hidden-data self-test, when a sandbox can start at all (else the problems above say
    why not)."""
    try:
        _bwrap_path()
        filter_program()
    except (SandboxUnavailable, SeccompUnavailable):
        return None
    from workers.sandbox.selftest import checked_problem

    try:
        return checked_problem(device)
    except SandboxUnavailable as exc:
        return f"{exc}; grading is refused until it runs"


def _bind_sources() -> list[str]:
    """The host paths a sandbox can read: the sources of its binds (:func:`sandbox_binds`, the list its masks
    are computed from too, so a bind added there is throttled as well). CUDA's extra binds are device nodes
    and sysfs, never a disk; the zygote's own files sit beside the harness."""
    return [bind.source for bind in sandbox_binds("cpu")]


def _io_limit(limits: Limits, found: IoDevices | None = None) -> IoLimit:
    """The run's disk I/O ceiling on every block device behind a path the sandbox can read (its only disk I/O:
    /tmp is a tmpfs and no host path is writable, so the write limits hold for whatever a later bind adds)."""
    if found is None:
        found = io_devices(_bind_sources())
    return IoLimit(
        tuple(found.devices),
        read_bps=int(limits.io_read_mbps * (1 << 20)),
        write_bps=int(limits.io_write_mbps * (1 << 20)),
        read_iops=int(limits.io_read_iops),
        write_iops=int(limits.io_write_iops),
    )


_io_works = False
_io_reports_logged: set[str] = set()


def _io_report(level: int, message: str) -> None:
    if message not in _io_reports_logged:
        _io_reports_logged.add(message)
        logger.log(level, "%s", message)


def _io_unsupported(limit: IoLimit) -> str | None:
    """Why this host cannot throttle a run's disk I/O, or None when it can (each reason logged once).

    Only success is remembered, as in :func:`cgroup_problem`; on a host without blkio or io the probe fails
    before it creates anything, so asking again on every run costs a read of mountinfo.
    """
    global _io_works
    if _io_works:
        return None
    problem = io_support(limit)
    if problem is None:
        _io_works = True
    else:
        _io_report(logging.WARNING, f"the disk I/O of sandbox runs is not limited: {problem} (see docs/operations.md)")
    return problem


def io_problem() -> str | None:
    """Why the disk I/O of runs is not limited here, or only in part, or None when every disk a sandbox reads
    from is throttled (then said once at INFO, with the default rates and the devices).

    Asked only where runs get a cgroup. The default rates come from SANDBOX_IO_* (a challenge may set its own).
    """
    found = io_devices(_bind_sources())
    defaults = Limits()
    limit = _io_limit(defaults, found)
    if not any(limit.rates().values()):
        problems = [f"it is turned off ({', '.join(IO_LIMIT_DEFAULTS)} are all 0 or empty)"]
    else:
        host = _io_unsupported(limit) if limit.devices else None
        problems = ([host] if host else []) + found.problems
    if problems:
        problem = "; ".join(problems)
        _io_report(logging.WARNING, f"the disk I/O of sandbox runs is not limited: {problem} (see docs/operations.md)")
        return problem
    if limit.devices:
        _io_report(
            logging.INFO,
            f"sandbox: the disk I/O of each run is limited to {defaults.io_read_mbps} MB/s and {defaults.io_read_iops} "
            f"IOPS read, {defaults.io_write_mbps} MB/s and {defaults.io_write_iops} IOPS write (0: no limit), on "
            + ", ".join(f"{device} ({name})" for device, name in found.devices.items())
            + "".join(f"; {note}" for note in found.notes),
        )
    return None


def _run_cgroup(limits: Limits, uid: int | None) -> RunCgroup | None:
    if cgroup_problem():
        return None
    io: IoLimit | None = _io_limit(limits)
    if not io.active or _io_unsupported(io):
        io = None  # memory, pids and cpu still apply; the start-up report said why I/O does not (io_problem)
    name = f"run-{os.getpid()}-{uid if uid is not None else 'user'}-{secrets.token_hex(4)}"
    try:
        return RunCgroup.create(
            name,
            memory_bytes=(limits.memory_mb + limits.tmp_mb) << 20,
            max_processes=limits.processes + CGROUP_EXTRA_PROCESSES,
            cpu_cores=1.0,
            io=io,
        )
    except CgroupUnavailable as exc:
        raise SandboxUnavailable(f"could not create the run's cgroup: {exc}") from exc


def _remove_cgroup(group: RunCgroup) -> None:
    try:
        group.remove()
    except (OSError, TimeoutError) as exc:
        logger.warning("could not remove sandbox cgroup %s: %s", group.name, exc)


def _rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total


class _Tail:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.buf += data
        if len(self.buf) > TAIL_BYTES:
            del self.buf[: len(self.buf) - TAIL_BYTES]

    def text(self) -> str:
        return self.buf.decode("utf-8", "replace")


class Sandbox:
    """One sandbox run: a fresh uid, cgroup and process tree, used for exactly one submission, then discarded.

    The two ways of starting one differ only in how the process tree comes to be: :class:`ColdSandbox`
    starts bwrap and a new interpreter; ``workers.sandbox.pool.ForkedSandbox`` forks it from a zygote
    that has already imported torch. Reading the bounded streams, enforcing the wall clock and memory,
    killing the tree and turning what came back into a :class:`SandboxResult` are shared, here.
    """

    pooled = False

    def __init__(self, limits: Limits | None = None, device: str = "cpu") -> None:
        self.limits = limits or Limits()
        self.device = device
        self.used = False
        self.uid: int | None = None
        self._lease: UidLease | None = None
        self.returncode: int | None = None
        self.cpu_used = 0.0
        if os.geteuid() == 0:
            try:
                self._lease = UidLease()
            except (UidUnavailable, OSError) as exc:
                raise SandboxUnavailable(f"no sandbox uid: {exc}") from exc
            self.uid = self._lease.uid
        self.cgroup: RunCgroup | None = None
        try:
            self.cgroup = _run_cgroup(self.limits, self.uid)
        except SandboxUnavailable:
            self._release()
            raise
        self.started = time.monotonic()
        self.stdout = _Tail()
        self.stderr = _Tail()
        self.result = bytearray()
        self.ready_at: float | None = None
        self._selector = selectors.DefaultSelector()
        self._owned_fds: list[int] = []
        self.open_streams = 0

    def _watch(self, fd: int, name: str, *, owned: bool = True) -> None:
        """Read ``fd`` (stdout, stderr, result or status) until EOF; an owned one is closed with the sandbox."""
        os.set_blocking(fd, False)
        self._selector.register(fd, selectors.EVENT_READ, name)
        if owned:
            self._owned_fds.append(fd)
        self.open_streams += 1

    # -- what differs between a cold and a forked sandbox ----------------------------------------

    def _stdin(self):
        """A binary file the request is written to (and closed)."""
        raise NotImplementedError

    def _on_status(self, data: bytes) -> None:
        """Bytes from a "status" stream (a forked sandbox's keeper reports its runner's exit)."""

    def _reap(self, block: bool) -> bool:
        """Collect the run's exit status into ``returncode``/``cpu_used`` if it has ended; True once it has."""
        raise NotImplementedError

    def _stop(self) -> None:
        """Kill the run's root process (the rest of the tree goes with its cgroup and uid)."""

    # -- pumping -------------------------------------------------------------------------------

    def _pump(self, timeout: float, result_cap: int) -> str | None:
        """Read what is available. Returns "output_limit"/"result_limit" when a bound is crossed."""
        for key, _ in self._selector.select(timeout):
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                self._selector.unregister(key.fd)
                self.open_streams -= 1
                continue
            if key.data == "status":
                self._on_status(data)
            elif key.data == "result":
                self.result += data
                if self.ready_at is None and len(self.result) >= len(READY_MAGIC):
                    if bytes(self.result[: len(READY_MAGIC)]) != READY_MAGIC:
                        return "crashed"
                    self.ready_at = time.monotonic()
                if len(self.result) > result_cap:
                    return "result_limit"
            else:
                tail = self.stdout if key.data == "stdout" else self.stderr
                tail.add(data)
                if self.stdout.total + self.stderr.total > self.limits.output_bytes:
                    return "output_limit"
        return None

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until torch is imported inside. Returns seconds spent starting."""
        deadline = time.monotonic() + timeout
        while self.ready_at is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.open_streams == 0:
                break
            if self._pump(min(remaining, 0.5), len(READY_MAGIC) + 1) not in (None,):
                break
        if self.ready_at is None:
            self.kill()
            raise SandboxUnavailable(
                "sandbox failed to start: " + (self.stderr.text()[-1000:] or "no output from bwrap")
            )
        return self.ready_at - self.started

    def kill(self) -> None:
        self._stop()
        if self.cgroup is not None:
            # Every process of the run, whatever uid or session it moved to, is in its cgroup.
            try:
                self.cgroup.kill_all()
            except (OSError, TimeoutError) as exc:
                logger.warning("could not empty sandbox cgroup %s: %s", self.cgroup.name, exc)
        if self.uid is not None:
            # The PID namespace dies with its init; this sweep is the belt to that brace. Wait until
            # the kernel has really torn the tree down so the caller never sees a live straggler.
            deadline = time.monotonic() + 5
            while (pids := uid_processes(self.uid)) and time.monotonic() < deadline:
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                time.sleep(0.02)
            if self._lease is not None and not uid_processes(self.uid):
                # Only a uid with nothing left running goes back; a stuck one stays leased by this process.
                self._lease.release()

    def _release(self) -> None:
        """Give back what a sandbox that never started holds: its cgroup and its uid."""
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
        if self._lease is not None:
            self._lease.release()

    def close(self) -> None:
        self.kill()
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
        try:
            self._selector.close()
        finally:
            for fd in self._owned_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._owned_fds = []
            self._close_extra()

    def _close_extra(self) -> None:
        """Anything else a subclass holds open."""

    # -- the one run ---------------------------------------------------------------------------

    def run(self, code: str, *, entrypoint: str, cases: list[Case], result: ResultMode) -> SandboxResult:
        if self.used:
            raise RuntimeError("a sandbox is used for one run only")
        self.used = True
        try:
            return self._run(code, entrypoint, cases, result)
        finally:
            self.close()

    def _run(self, code: str, entrypoint: str, cases: list[Case], result: ResultMode) -> SandboxResult:
        limits = self.limits
        payload, expected = _encode_request(code, entrypoint, cases, self.device, limits, result)
        startup = self.wait_ready()
        started = time.monotonic()
        deadline = started + limits.wall_seconds

        stdin = self._stdin()

        def feed() -> None:
            try:
                stdin.write(payload)
                stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        result_cap = len(READY_MAGIC) + (limits.result_mb << 20)
        verdict: str | None = None
        watch_rss = self.device.startswith("cuda") and self.uid is not None
        next_rss_check = next_oom_check = 0.0
        while self.open_streams > 0:
            now = time.monotonic()
            if now >= deadline:
                verdict = "timeout"
                break
            verdict = self._pump(min(deadline - now, 0.1), result_cap)
            if verdict:
                break
            if self.cgroup is not None and now >= next_oom_check:
                # The kernel killed a process of the run for the run's memory: stop now, not at the deadline.
                next_oom_check = now + 0.1
                if self.cgroup.oom_killed():
                    verdict = "memory"
                    break
            if watch_rss and now >= next_rss_check:
                next_rss_check = now + 0.1
                if _rss_bytes(uid_processes(self.uid)) > limits.memory_mb << 20:
                    verdict = "memory"
                    break
        if verdict is None:
            # All pipes closed: the harness is done (or dead). Give bwrap a moment to exit by itself.
            grace_end = min(deadline, time.monotonic() + 5)
            while not self._reap(block=False) and time.monotonic() < grace_end:
                time.sleep(0.01)
        self.kill()
        writer.join(timeout=1)
        wall = time.monotonic() - started
        return self._verdict(verdict, expected, wall, startup)

    def _verdict(self, verdict: str | None, expected: list[dict], wall: float, startup: float) -> SandboxResult:
        limits = self.limits

        def result(status: Status, message: str = "", cases=None, error=None) -> SandboxResult:
            return SandboxResult(
                status=status,
                cases=cases or [],
                stdout_tail=self.stdout.text(),
                stderr_tail=self.stderr.text(),
                wall_seconds=round(wall, 3),
                device=self.device,
                message=message,
                error=error,
                startup_seconds=round(startup, 3),
                pooled=self.pooled,
            )

        if self.cgroup is not None and self.cgroup.oom_killed():
            # The run's processes together went past its memory (tmpfs, memfd and kernel memory included):
            # the cause, even when what the parent saw next was a hang or a crash.
            verdict = "memory"
        if verdict == "timeout":
            return result("timeout", f"Your code ran longer than the {limits.wall_seconds:g}-second time limit.")
        if verdict == "memory":
            return result("memory", f"Your code used more than the {limits.memory_mb} MB memory limit.")
        if verdict == "output_limit":
            return result(
                "output_limit",
                f"Your code printed more than {limits.output_bytes // 1024} KB; remove or shorten print calls.",
            )
        if verdict == "result_limit":
            return result("output_limit", f"Your code's results were larger than {limits.result_mb} MB.")
        rc = self.returncode
        if rc is not None and rc in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return result("timeout", f"Your code used more than {limits.cpu_seconds} seconds of CPU time.")
        raw = bytes(self.result[len(READY_MAGIC) :])
        try:
            status, cases, error = _decode_result(raw, expected)
        except Exception as exc:  # noqa: BLE001 - whatever the learner sent, the grader must not fall over
            if not isinstance(exc, _Malformed):
                logger.warning("undecodable sandbox result (%s): %r", type(exc).__name__, exc)
                exc = _Malformed(f"unreadable results ({type(exc).__name__})")
            if rc in (-signal.SIGKILL, 128 + signal.SIGKILL) and self._cpu_exhausted():
                return result("timeout", f"Your code used more than {limits.cpu_seconds} seconds of CPU time.")
            return result(
                "crashed",
                "Your code stopped the grader before it could finish (the process exited or was killed "
                f"without reporting results; {exc}).",
            )
        if status == "memory":
            return result("memory", f"Your code used more than the {limits.memory_mb} MB memory limit.", cases)
        if status == "error":
            return result("error", "Your code could not be loaded.", error=error)
        if rc not in (0, None):
            return result("crashed", f"The sandbox exited with status {rc} after reporting results.", cases)
        return result("ok", "", cases)

    def _cpu_exhausted(self) -> bool:
        return self.cpu_used >= self.limits.cpu_seconds - 0.05


class ColdSandbox(Sandbox):
    """bwrap and a new interpreter for this run: ~1 s of CPU for ``import torch``, no zygote needed."""

    def __init__(self, limits: Limits | None = None, device: str = "cpu") -> None:
        super().__init__(limits, device)
        try:
            seccomp_fd = filter_fd()
        except (SeccompUnavailable, OSError) as exc:
            self._release()
            raise SandboxUnavailable(f"no seccomp filter: {exc}") from exc
        result_r, result_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                _build_command(self.limits, device, result_w, self.uid, seccomp_fd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(result_w, seccomp_fd),
                close_fds=True,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                cwd="/",
                start_new_session=True,
                preexec_fn=_preexec(self.limits, device, self.cgroup),
            )
        except (OSError, subprocess.SubprocessError) as exc:  # SubprocessError: the preexec step failed
            os.close(result_r)
            self._release()
            raise SandboxUnavailable(f"could not start bwrap: {exc}") from exc
        finally:
            for fd in (result_w, seccomp_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._watch(self.proc.stdout.fileno(), "stdout", owned=False)  # closed with Popen's file objects
        self._watch(self.proc.stderr.fileno(), "stderr", owned=False)
        self._watch(result_r, "result")

    def _stdin(self):
        return self.proc.stdin

    def _reap(self, block: bool) -> bool:
        if self.returncode is not None:
            return True
        # wait4 rather than Popen.wait: the rusage tells a CPU-limit kill from other crashes.
        try:
            pid, status, usage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.returncode = -1
            return True
        if not pid:
            return False
        self.returncode = self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_used = usage.ru_utime + usage.ru_stime
        return True

    def _stop(self) -> None:
        if self.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._reap(block=True)

    def _close_extra(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


def run_cases(
    code: str,
    *,
    entrypoint: str,
    cases: list[Case],
    result: ResultMode | None = None,
    limits: Limits | None = None,
    device: str = "cpu",
    pool=None,
) -> SandboxResult:
    """Run ``entrypoint(**case.args)`` for every case in one fresh, isolated sandbox.

    ``pool`` (a :class:`workers.sandbox.pool.SandboxPool`) forks the sandbox from a warm zygote when it
    can; without one, or when the pool cannot serve, the sandbox starts cold. Raises
    :class:`SandboxUnavailable` when no sandbox can be started, or when the hidden-data self-test
    (``workers.sandbox.selftest``, run once per process) finds hidden data readable inside.
    """
    from workers.sandbox.selftest import verified_pool

    limits = limits or Limits()
    # Before any learner code: refuse (SandboxUnavailable) if hidden data can be read in the sandbox it would get.
    pool = verified_pool(pool, device)
    box = pool.sandbox(limits, device) if pool is not None else None
    if box is None:
        box = ColdSandbox(limits, device)
    return box.run(code, entrypoint=entrypoint, cases=cases, result=result or TensorResult())
