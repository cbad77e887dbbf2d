"""In-sandbox harness: runs learner code on given inputs and streams the raw outputs back.

This file is executed *inside* bubblewrap by the runtime's own interpreter (``python -I -S``),
so it imports nothing from the project: only the standard library, torch and safetensors.

Nothing here decides a verdict. The learner's code shares this process, so it can patch or
impersonate anything below; the trusted side therefore treats every byte that comes out as
hostile data and re-validates it. What this file does try hard to avoid is *helping* the learner:
it never calls methods on a returned object unless its exact type is ``torch.Tensor``, and it
never serialises anything with pickle.

Protocol (all integers are 8-byte big-endian lengths):

* stdin  <- ``LPREQ1\\n`` len JSON-header len safetensors-inputs
* result -> ``LPREADY\\n`` once torch is imported and privileges are dropped, then
  ``LPRES1\\n`` len JSON-manifest len safetensors-outputs

The header names the result mode (``workers.sandbox.cases``): ``tensor`` (the returned tensor, the
requested gradients and the tensor inputs as they are after the call) or ``state_dict`` (the state of a
module argument after the call, read with ``nn.Module.state_dict``, and the returned list of numbers).
Module arguments are built here from layer specs and the request's weights; nothing random happens inside.
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import time
import traceback

READY_MAGIC = b"LPREADY\n"
REQUEST_MAGIC = b"LPREQ1\n"
RESULT_MAGIC = b"LPRES1\n"
SUBMISSION_PATH = "/tmp/solution.py"
SHOWN_FILENAME = "solution.py"
MAX_TEXT = 4000

# Captured before learner code exists, so later monkeypatching of builtins can't redirect them.
_type = type
_isinstance = isinstance
_len = len
_str = str
_clock = time.perf_counter


def _drop_privileges(uid: int, gid: int) -> None:
    # Only reached when bwrap ran as real root (see workers.sandbox.runner): become a dedicated,
    # unprivileged host uid before anything else happens. setresuid away from 0 also clears every
    # capability, and bwrap has already set no_new_privs so no setuid binary can get them back.
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("harness: failed to drop privileges")


def _read_exact(stream: io.BufferedReader, n: int) -> bytes:
    data = stream.read(n)
    if data is None or _len(data) != n:
        raise EOFError("short read")
    return data


def _read_frame(stream: io.BufferedReader) -> bytes:
    (n,) = struct.unpack(">Q", _read_exact(stream, 8))
    return _read_exact(stream, n)


def _safe_text(fn, limit: int = MAX_TEXT) -> str:
    # str() on a learner exception runs learner code; never let it break the harness.
    try:
        text = fn()
        if _type(text) is not _str:
            return "<unprintable>"
        return text[:limit]
    except BaseException:  # noqa: BLE001 - deliberately swallow anything learner code raises
        return "<unprintable>"


def _type_name(obj: object) -> str:
    cls = _type(obj)
    try:
        # Read the slot on ``type`` directly so a metaclass property can't run.
        return _str(_type.__dict__["__qualname__"].__get__(cls, _type))[:200]
    except BaseException:  # noqa: BLE001
        return "<unknown>"


def _learner_traceback(exc: BaseException) -> dict:
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SUBMISSION_PATH]
        for f in frames:
            f.filename = SHOWN_FILENAME
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
    except BaseException:  # noqa: BLE001 - e.g. no file descriptor left to read the source lines with
        lines = []
    if _isinstance(exc, SyntaxError):
        exc.filename = SHOWN_FILENAME
    lines += _safe_text(lambda: "".join(traceback.format_exception_only(_type(exc), exc))).splitlines(True)
    return {
        "type": _type_name(exc),
        "message": _safe_text(lambda: _str(exc)),
        "traceback": "".join(lines)[-MAX_TEXT:],
    }


def _is_memory_error(exc: BaseException) -> bool:
    if _isinstance(exc, MemoryError):
        return True
    text = _safe_text(lambda: _str(exc)).lower()
    return "can't allocate memory" in text or "out of memory" in text


def _build_module(torch, spec: dict, inputs: dict, prefix: str, device):
    """An MLP of named Linear layers with ReLU between, weights from the request (nothing random inside)."""
    nn = torch.nn
    layers = [(name, int(fan_in), int(fan_out)) for name, fan_in, fan_out in spec["layers"]]

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, fan_in, fan_out in layers:
                self.add_module(name, nn.Linear(fan_in, fan_out))

        def forward(self, x):
            children = list(self.children())
            for position, layer in enumerate(children):
                x = layer(x)
                if position < _len(children) - 1:
                    x = torch.relu(x)
            return x

    module = MLP()
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(inputs[prefix + name])
    module.to(device)
    if not spec.get("trainable", True):
        module.requires_grad_(False)
        module.eval()
    return module


def _record_tensor(torch, plain_tensor, record: dict, tensors_out: dict, index: int, result, wants_grad: bool) -> None:
    if _type(result) is not plain_tensor:
        record["result"] = {"kind": "other", "type": _type_name(result)}
        return
    if wants_grad and result.requires_grad:
        if result.dim() == 0:
            record["backward"] = "done"
            torch.autograd.backward(result)
        else:
            record["backward"] = "skipped_not_scalar"
    elif wants_grad:
        record["backward"] = "no_grad_fn"
    key = f"c{index}.result"
    tensors_out[key] = result.detach().to("cpu").contiguous().clone()
    record["result"] = {"kind": "tensor", "key": key}


def _record_series(torch, plain_tensor, record: dict, tensors_out: dict, index: int, result, series_max: int) -> None:
    """A returned list of numbers (or 1-D tensor) travels as float64; anything else only by its type name."""
    series = None
    kind = _type(result)
    if (kind is list or kind is tuple) and _len(result) <= series_max:
        # Numbers, or 0-dim tensors (``losses.append(loss)`` is common); exact types only.
        if all(_type(v) is float or _type(v) is int for v in result):
            series = torch.tensor([float(v) for v in result], dtype=torch.float64)
        elif all(_type(v) is plain_tensor and v.dim() == 0 for v in result):
            series = torch.tensor([v.detach().double().item() for v in result], dtype=torch.float64)
    elif kind is plain_tensor and result.dim() == 1 and result.numel() <= series_max:
        series = result.detach().to("cpu", torch.float64).contiguous().clone()
    if series is None:
        record["result"] = {"kind": "other", "type": _type_name(result), "length": _sized(result)}
        return
    key = f"c{index}.series"
    tensors_out[key] = series
    record["result"] = {"kind": "series", "key": key}


def _sized(value) -> int | None:
    kind = _type(value)
    return _len(value) if kind is list or kind is tuple else None


def _record_state(torch, plain_tensor, record: dict, tensors_out: dict, index: int, module) -> None:
    """The trained module's parameters and buffers, read with the base class's own method."""
    try:
        state = torch.nn.Module.state_dict(module)
        items = [(k, v) for k, v in state.items()][:256]
    except BaseException as exc:  # noqa: BLE001 - learner code may have broken the module
        record["state_error"] = _learner_traceback(exc)
        return
    names = {}
    for position, (name, value) in enumerate(items):
        if _type(name) is not _str or _type(value) is not plain_tensor:
            continue
        key = f"c{index}.state.{position}"
        tensors_out[key] = value.detach().to("cpu").contiguous().clone()
        names[name[:200]] = key
    record["state"] = names


def _reseed(torch) -> None:
    """Fresh OS entropy for every generator learner code could draw from, before any of it runs.

    A pooled run is a fork of the zygote and would otherwise replay the zygote's generator states, the same
    draws in every run. A cold run's interpreter is already freshly seeded; reseeding it too costs nothing.
    Nothing trusted seeds in here (kinds draw their cases outside), so a learner's own ``manual_seed`` still wins.
    """
    import random

    random.seed(os.urandom(32))
    # manual_seed seeds the CPU generator and every CUDA device's (at once if CUDA is up, else on its init).
    torch.manual_seed(int.from_bytes(os.urandom(8), "big") >> 1)
    numpy_random = sys.modules.get("numpy.random")  # not imported yet: it seeds itself from the OS when it is
    if numpy_random is not None:
        numpy_random.seed([int.from_bytes(os.urandom(4), "big") for _ in range(8)])


def load_runtime(site_packages: str):
    """Import torch and safetensors (the slow part of a run's start-up); returns what :func:`serve` needs."""
    # -S skipped site; add only the venv's packages, without executing their .pth files.
    sys.path.insert(0, site_packages)
    import torch
    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    torch.set_num_threads(1)
    return torch, st_load, st_save


def main() -> None:
    """The cold path: one interpreter per run, started by bwrap, privileges dropped before torch loads."""
    args = sys.argv[1:]
    result_fd = int(args[0])
    site_packages = args[1]
    if _len(args) >= 4:
        _drop_privileges(int(args[2]), int(args[3]))
    serve(load_runtime(site_packages), result_fd)


def serve(runtime, result_fd: int) -> None:
    """Say ready on ``result_fd``, read one request from stdin, run it and write the results. Never returns.

    Called once per process: by :func:`main` on the cold path, and by a child of the pool's zygote
    (``workers/sandbox/zygote.py``) after it has isolated itself and dropped privileges.
    """
    torch, st_load, st_save = runtime
    plain_tensor = torch.Tensor
    out = os.fdopen(result_fd, "wb", buffering=0)
    out.write(READY_MAGIC)

    stdin = sys.stdin.buffer
    if _read_exact(stdin, _len(REQUEST_MAGIC)) != REQUEST_MAGIC:
        raise SystemExit("harness: bad request")
    header = json.loads(_read_frame(stdin))
    inputs = st_load(_read_frame(stdin))
    sys.stdin.close()

    device = torch.device(header["device"])
    if device.type == "cuda":
        # Soft cap on the caching allocator; the parent's RSS watchdog and wall clock are the real
        # enforcement, since learner code can undo this.
        total = torch.cuda.get_device_properties(device).total_memory
        fraction = min(1.0, header["gpu_memory_bytes"] / total)
        torch.cuda.set_per_process_memory_fraction(fraction, device)
    _reseed(torch)

    manifest: dict = {"version": 1, "status": "ok", "cases": []}
    tensors_out: dict[str, torch.Tensor] = {}

    def finish() -> None:
        blob = st_save(tensors_out) if tensors_out else b""
        body = json.dumps(manifest).encode()
        out.write(RESULT_MAGIC + struct.pack(">Q", _len(body)) + body + struct.pack(">Q", _len(blob)) + blob)
        out.close()
        # Skip interpreter teardown (torch's is slow); nothing is left to flush but stdio.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001, S110 - learner code may have replaced the stream
                pass
        os._exit(0)

    with open(SUBMISSION_PATH, "w", encoding="utf-8") as fh:
        fh.write(header["code"])

    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("solution", SUBMISSION_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["solution"] = module
        spec.loader.exec_module(module)
        entry = getattr(module, header["entrypoint"])
        if not callable(entry):
            raise TypeError(f"{header['entrypoint']} is not a function")
    except BaseException as exc:  # noqa: BLE001 - learner import failures are reported, not raised
        manifest["status"] = "memory" if _is_memory_error(exc) else "error"
        manifest["error"] = _learner_traceback(exc)
        finish()
        return

    mode = header["result"]["mode"]
    for index, case in enumerate(header["cases"]):
        record: dict = {"index": index, "ok": True, "grads": {}, "inputs_after": {}, "backward": "not_requested"}
        manifest["cases"].append(record)
        grad_names = set(case.get("grad", []))
        call_args: dict = dict(case.get("scalars", {}))
        tensor_args: dict[str, torch.Tensor] = {}
        for name in case.get("tensors", []):
            t = inputs[f"c{index}.{name}"].to(device)
            if name in grad_names:
                t = t.detach().requires_grad_(True)
            tensor_args[name] = t
        modules = {
            name: _build_module(torch, spec, inputs, f"c{index}.{name}.", device)
            for name, spec in case.get("modules", {}).items()
        }
        call_args.update(tensor_args)
        call_args.update(modules)
        try:
            called = _clock()
            result = entry(**call_args)
            record["seconds"] = _clock() - called
            if mode == "tensor":
                _record_tensor(torch, plain_tensor, record, tensors_out, index, result, bool(grad_names))
            else:
                _record_series(torch, plain_tensor, record, tensors_out, index, result, header["result"]["series_max"])
        except BaseException as exc:  # noqa: BLE001
            record["ok"] = False
            record["error"] = _learner_traceback(exc)
            if _is_memory_error(exc):
                manifest["status"] = "memory"
                break
        if mode == "state_dict":
            _record_state(torch, plain_tensor, record, tensors_out, index, modules[header["result"]["module"]])
            continue
        for name, t in tensor_args.items():
            if name in grad_names:
                grad = t.grad
                if _type(grad) is plain_tensor:
                    key = f"c{index}.grad.{name}"
                    tensors_out[key] = grad.detach().to("cpu").contiguous().clone()
                    record["grads"][name] = key
                else:
                    record["grads"][name] = None
            key = f"c{index}.after.{name}"
            tensors_out[key] = t.detach().to("cpu").contiguous().clone()
            record["inputs_after"][name] = key
    finish()


if __name__ == "__main__":
    main()
