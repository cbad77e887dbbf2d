"""Tensors that a kind's trusted side computes the same way for every submission, kept on disk between processes.

Every grading worker process, every ``manage.py grade`` and every ``regrade`` needs the same references (the
digits split, the trained teachers). Computing them is deterministic but not free (a teacher is about a
second of CPU), and a cohort's first submissions all land on freshly started processes. So the first process
on a machine computes them and writes them here; the others read them back in milliseconds.

A file is trusted only if it is exactly what this code would compute now:

* its name and its recorded key are a digest of everything the tensors depend on: the caller's own inputs
  (the source of the code that computes them, package versions) and what rounds differently from machine to
  machine or release to release (torch's version, the CPU kernels it dispatches to, numpy's version). A change
  to any of them names another file, so a stale file is never read;
* a digest of the tensors' names, dtypes, shapes and bytes is recorded beside them and checked on every read,
  so a truncated or corrupted file is recomputed (and rewritten) rather than believed;
* it is written to a temporary file in the same directory, flushed to disk and renamed into place, so a
  reader sees a whole file or none, even with several workers writing at once (they write the same bytes).

Only safetensors is read: no pickle, so even a file planted here cannot run code in the worker. The cache is
an optimisation: a directory that cannot be written (or read) costs the recomputation, never a verdict.

Imports nothing from Django: the directory comes from ``VAR_DIR`` (the environment variable the settings read,
including a ``.env`` file once the settings have loaded), under ``grader-cache/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

logger = logging.getLogger(__name__)

# Bump when the file layout or the meaning of the key changes: every older file is then ignored.
FORMAT = "1"
CACHE_DIRNAME = "grader-cache"
# A header this long is no file of ours (ours are a few hundred bytes), so reading stops there.
MAX_HEADER = 1 << 20


def cache_dir() -> Path:
    """``$VAR_DIR/grader-cache``, with the settings' default for ``VAR_DIR`` (``var/`` in the checkout)."""
    var = os.environ.get("VAR_DIR") or str(Path(__file__).resolve().parents[2] / "var")
    return Path(var) / CACHE_DIRNAME


def source_digest(path: str | Path) -> str:
    """A digest of one source file: a cache key part that follows the code that computes the tensors."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_key(name: str, parts: Iterable[str]) -> str:
    """The digest of everything ``name``'s tensors depend on: the caller's ``parts`` and the numeric stack."""
    import numpy

    environment = (
        f"format={FORMAT}",
        f"name={name}",
        f"torch={torch.__version__}",
        # PyTorch's CPU kernels differ with the instruction set (and ATEN_CPU_CAPABILITY) and round differently.
        f"cpu={torch.backends.cpu.get_cpu_capability()}",
        f"numpy={numpy.__version__}",
    )
    digest = hashlib.sha256()
    for part in (*environment, *parts):
        digest.update(part.encode() + b"\n")
    return digest.hexdigest()


def cache_path(name: str, key: str) -> Path:
    return cache_dir() / f"{name}-{key[:24]}.safetensors"


def cached_tensors(
    name: str,
    parts: Iterable[str],
    compute: Callable[[], dict[str, torch.Tensor]],
    check: Callable[[dict[str, torch.Tensor]], object] | None = None,
) -> dict[str, torch.Tensor]:
    """``compute()``'s tensors, read from the cache when a valid copy for this key is there, else computed and
    written for the next process. ``parts`` are the key's caller-specific inputs (see :func:`cache_key`);
    ``check``, if given, is the caller's own use of the tensors (loading them into its module, say): a file
    it raises on is recomputed like a corrupt one."""
    key = cache_key(name, parts)
    path = cache_path(name, key)
    tensors = read(path, key)
    if tensors is not None and check is not None:
        try:
            check(tensors)
        except Exception as exc:  # noqa: BLE001 - the caller cannot use it: recompute, as for any bad file
            logger.warning("grader cache %s does not fit its use (%s): recomputing it", path, exc)
            tensors = None
    if tensors is not None:
        return tensors
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in compute().items()}
    write(path, key, tensors)
    return tensors


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def read(path: Path, key: str) -> dict[str, torch.Tensor] | None:
    """The tensors in ``path`` if it is a whole file written for ``key``; None (and a warning if it existed but
    was not valid) otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("grader cache %s cannot be read (%s): computing instead", path, exc)
        return None
    try:
        metadata = _metadata(data)
        if metadata.get("format") != FORMAT or metadata.get("key") != key:
            raise ValueError("written for another key")
        tensors = load_safetensors(data)
        if tensors_digest(tensors) != metadata.get("digest"):
            raise ValueError("its tensors do not match their recorded digest")
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, the answer is to recompute it
        logger.warning("grader cache %s is not valid (%s): recomputing it", path, exc)
        return None
    return tensors


def write(path: Path, key: str, tensors: dict[str, torch.Tensor]) -> None:
    """Write ``tensors`` to ``path`` atomically; a failure is logged, never raised (the cache is optional)."""
    data = save_safetensors(tensors, metadata={"format": FORMAT, "key": key, "digest": tensors_digest(tensors)})
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes it private; nothing here is secret (public data, a teacher the sandbox is given), and
        # other accounts on the host (``manage.py grade`` run by an operator) should find it too.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        logger.warning("grader cache %s cannot be written (%s): the next process computes it again", path, exc)
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _metadata(data: bytes) -> dict:
    """The safetensors header's ``__metadata__``, read without trusting its length."""
    if len(data) < 8:
        raise ValueError("truncated header")
    length = int.from_bytes(data[:8], "little")
    if length > min(MAX_HEADER, len(data) - 8):
        raise ValueError("truncated header")
    header = json.loads(data[8 : 8 + length])
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict):
        raise ValueError("no metadata")
    return metadata
