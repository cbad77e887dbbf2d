"""The hidden-data self-test: prove, inside a real sandbox, that no hidden data file can be read.

The masks of ``workers.sandbox.layout`` are computed from what the trusted side knows about the host: its
binds and where packages are installed. This test does not trust that reasoning. It runs a small program as
learner code (the same harness, uid, seccomp filter and mounts as a submission), once in a cold sandbox and
once forked from the pool's zygote, which looks for every file of ``HIDDEN_PACKAGE_DATA`` by:

* every path at which it could appear: its real host path, its path through each bind (``/usr/...``,
  ``/opt/python/...``, ``/opt/site-packages/...``), whether or not a mask is meant to be there;
* the import system's view inside: the package as found on ``sys.path``, in the runtime's site
  directories and in the usual site directories under ``/``, ``/usr`` and ``/opt/*``, where any data
  file that can be read counts, whatever its content (another version's copy is a leak as well);
* a search of the whole sandbox filesystem (but ``/proc``, ``/sys`` and ``/dev``) for files of the same
  name, so that a stray copy (a second installation, a package cache) is found as well;

and reports each one whose content it can read (same size and SHA-256 as the hidden file, but for the
import system's view above).

:func:`verified_pool` is the guard ``run_cases`` calls before every run: the first call in a process (for a
device and a sandbox layout) runs the test, later ones reuse its answer. When a hidden file is readable it
raises :class:`~workers.sandbox.runner.SandboxUnavailable`, which the grader turns into its infrastructure
error: the submission is retried and then told the grader is unavailable, never graded with the data in
reach. ``support_problems`` runs the cold half at worker start-up, so that the log says it at once.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import logging
import os
import threading
import time
from dataclasses import dataclass

import torch

from workers.sandbox import runner
from workers.sandbox.cases import Case, TensorResult
from workers.sandbox.layout import SITE_DIR_PATTERNS, HiddenPath, sandbox_paths
from workers.sandbox.limits import Limits
from workers.sandbox.runner import ColdSandbox, SandboxUnavailable

logger = logging.getLogger(__name__)

PROBE_MARK = "LP-HIDDEN-DATA "
# The search reads names only (no stat but for a matching name): about a second for 200,000 files here.
SEARCH_SECONDS = 30
# A failed test is run again after this long, so that a host an operator has fixed starts grading again
# without a restart; a passed one holds for the process (and the layout) it was run for.
RECHECK_FAILED_SECONDS = 60
MAX_REPORTED = 20
# Python modules, sources and caches: code, not data (a data directory's __init__.py and its bytecode).
CODE_SUFFIXES = (*importlib.machinery.all_suffixes(), ".pyc", ".pyi", ".pyx", ".pxd")

_PROBE = r"""
import glob, hashlib, importlib.machinery, json, os, site, stat, sys, time

SPEC = json.loads(SPEC_JSON)


def f(x):
    files = SPEC["files"]
    by_digest = {item["sha256"]: item["label"] for item in files}
    sizes = {item["size"] for item in files}
    names = set(SPEC["names"])
    found = {}
    checked = [0]

    def look(path, how, label=None):
        # A file of a known content counts when its bytes match; one named by ``label`` (a file in a hidden
        # directory of any installation, whatever its version) as soon as a byte of it can be read.
        checked[0] += 1
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (label is None and info.st_size not in sizes):
                return
            if label is not None:
                if not os.read(fd, 1):
                    return
            else:
                digest = hashlib.sha256()
                while chunk := os.read(fd, 1 << 20):
                    digest.update(chunk)
                label = by_digest.get(digest.hexdigest())
        except OSError:
            return
        finally:
            os.close(fd)
        if label is not None and path not in found:
            found[path] = {"path": path, "label": label, "how": how}

    for item in files:
        for path in item["candidates"]:
            look(path, "bind")

    directories = [entry for entry in sys.path if entry] + site.getsitepackages()
    for root in ["/", "/usr"] + sorted(glob.glob("/opt/*")):
        for pattern in SPEC["site_patterns"]:
            directories += glob.glob(os.path.join(root, pattern)) if pattern else [root]
    for package, insides in SPEC["packages"].items():
        for directory in dict.fromkeys(directories):
            try:
                spec = importlib.machinery.PathFinder.find_spec(package, [directory])
            except Exception:
                continue
            for location in (spec.submodule_search_locations or []) if spec else []:
                for inside in insides:
                    top = os.path.join(location, inside)
                    for parent, dirs, names_here in os.walk(top):
                        dirs[:] = [d for d in dirs if d != "__pycache__"]
                        for name in names_here:
                            if not name.endswith(tuple(SPEC["code_suffixes"])):
                                path = os.path.join(parent, name)
                                shown = package + "/" + inside + "/" + os.path.relpath(path, top)
                                look(path, "import", shown)

    deadline = time.monotonic() + SPEC["search_seconds"]
    complete = True
    for parent, dirs, names_here in os.walk("/"):
        if parent == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        if time.monotonic() > deadline:
            complete = False
            break
        for name in names_here:
            if name in names:
                look(os.path.join(parent, name), "search")

    report = {"found": list(found.values())[: SPEC["max_reported"]], "count": len(found),
              "checked": checked[0], "complete": complete}
    print(MARK + json.dumps(report), flush=True)
    return x
"""


@dataclass(frozen=True)
class HiddenFile:
    """One file the sandbox must not show: where it really is, and what it holds (by size and digest)."""

    label: str  # e.g. sklearn/datasets/data/digits.csv.gz
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Finding:
    """A hidden file readable inside: at ``path``, found by ``how`` (bind, import or search)."""

    sandbox: str  # "cold" or "pooled"
    path: str
    label: str
    how: str


@dataclass(frozen=True)
class Outcome:
    findings: tuple[Finding, ...]
    count: int  # findings in all (only the first MAX_REPORTED are listed)
    checked: int  # paths the probe opened or tried to
    complete: bool  # the filesystem search finished within SEARCH_SECONDS


def _is_code(name: str) -> bool:
    """A module of the package rather than its data: public code, often the same bytes as its neighbours'
    (``__init__.py`` files that hold only a licence header), so never looked for."""
    return name.endswith(CODE_SUFFIXES)


def hidden_files(hidden: list[HiddenPath]) -> list[HiddenFile]:
    """Every non-empty regular data file of ``hidden`` (an empty one tells nothing; modules are code)."""
    files: dict[str, HiddenFile] = {}
    for item in hidden:
        if not item.is_dir:
            paths = [(item.path, item.label)]
        else:
            paths = []
            for parent, dirs, names in os.walk(item.path):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for name in names:
                    if _is_code(name):
                        continue
                    path = os.path.join(parent, name)
                    paths.append((path, f"{item.label}/{os.path.relpath(path, item.path)}"))
        for path, label in paths:
            if os.path.islink(path) or not os.path.isfile(path) or path in files:
                continue  # a link inside is followed by layout.hidden_paths and listed by its target
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                size = 0
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
            if size:
                files[path] = HiddenFile(label, path, size, digest.hexdigest())
    return sorted(files.values(), key=lambda f: f.label)


def probe_code(device: str) -> str:
    """The probe, as learner code: what it looks for is written into it (the sandbox has no other input)."""
    from workers.sandbox.layout import HIDDEN_PACKAGE_DATA, hidden_paths

    binds = runner.sandbox_binds(device)
    files = hidden_files(hidden_paths(binds))
    packages: dict[str, list[str]] = {}
    for relative in HIDDEN_PACKAGE_DATA:
        package, _, inside = relative.partition("/")
        packages.setdefault(package, []).append(inside)
    spec = {
        "files": [
            {
                "label": f.label,
                "size": f.size,
                "sha256": f.sha256,
                # Its real path, each path a bind gives it, and where the harness imports packages from.
                "candidates": list(
                    dict.fromkeys([f.path, *sandbox_paths(f.path, binds), f"/opt/site-packages/{f.label}"])
                ),
            }
            for f in files
        ],
        "names": sorted({os.path.basename(f.path) for f in files}),
        "packages": packages,
        "site_patterns": list(SITE_DIR_PATTERNS),
        "code_suffixes": list(CODE_SUFFIXES),
        "search_seconds": SEARCH_SECONDS,
        "max_reported": MAX_REPORTED,
    }
    return f"MARK = {PROBE_MARK!r}\nSPEC_JSON = {json.dumps(spec)!r}\n{_PROBE}"


def _parse(stdout: str, sandbox: str) -> Outcome | None:
    """The probe's report (our own program's, but read as carefully as any sandbox output)."""
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith(PROBE_MARK)), None)
    if line is None:
        return None
    try:
        report = json.loads(line[len(PROBE_MARK) :])
        findings = tuple(
            Finding(sandbox, str(item["path"])[:500], str(item["label"])[:200], str(item["how"])[:20])
            for item in report["found"][:MAX_REPORTED]
        )
        return Outcome(findings, int(report["count"]), int(report["checked"]), bool(report["complete"]))
    except (ValueError, KeyError, TypeError):
        return None


def _probe_limits() -> Limits:
    """Room for the search (a second or two here, SEARCH_SECONDS at most) on any host; the run's other limits
    (processes, files, /tmp, I/O) are a submission's."""
    return Limits(cpu_seconds=SEARCH_SECONDS * 2, wall_seconds=SEARCH_SECONDS * 3, output_bytes=64 * 1024)


def run_probe(device: str = "cpu", pool=None) -> Outcome | None:
    """Run the probe once: forked from ``pool`` when one is given (None when the pool could not fork a
    sandbox), else in a cold sandbox. Raises SandboxUnavailable when the probe cannot run or report."""
    sandbox = "pooled" if pool is not None else "cold"
    code = probe_code(device)
    if pool is not None:
        box = pool.sandbox(_probe_limits(), device)
        if box is None:
            return None
    else:
        box = ColdSandbox(_probe_limits(), device)
    result = box.run(code, entrypoint="f", cases=[Case({"x": torch.zeros(1)})], result=TensorResult())
    outcome = _parse(result.stdout_tail, sandbox) if result.status == "ok" else None
    if outcome is None:
        detail = result.message or result.stderr_tail[-500:] or "no report"
        raise SandboxUnavailable(
            f"the hidden-data self-test could not run in a {sandbox} sandbox: {result.status}: {detail}"
        )
    return outcome


def hidden_data_visible(device: str = "cpu", pool=None) -> list[Finding]:
    """Every hidden file readable inside a cold sandbox and, when ``pool`` is enabled, a pooled one."""
    findings = list(run_probe(device).findings)
    if pool is not None and pool.enabled:
        pooled = run_probe(device, pool)
        if pooled is None:
            raise SandboxUnavailable("the hidden-data self-test could not fork a pooled sandbox")
        findings += pooled.findings
    return findings


def describe(outcome: Outcome, sandbox: str) -> str | None:
    """The problem an operator reads, or None when nothing hidden was readable."""
    if not outcome.count:
        return None
    shown = "; ".join(f"{f.path} ({f.label}, found by {f.how})" for f in outcome.findings[:5])
    more = f" and {outcome.count - 5} more" if outcome.count > 5 else ""
    return (
        f"hidden data is readable inside a {sandbox} sandbox: {shown}{more}; grading is refused until it is "
        "hidden (docs/operations.md, 'Hidden data self-test')"
    )


# --------------------------------------------------------------------------- the guard


# What checked_problem answers when the pool could not fork a sandbox to test: the run goes cold (tested).
UNVERIFIED = "unverified"
_lock = threading.Lock()
# (pid, sandbox, device, layout) -> (problem or None, monotonic time of the test)
_results: dict[tuple, tuple[str | None, float]] = {}


def _layout_key(device: str) -> tuple:
    """What the answer depends on: the binds and the masks a sandbox for ``device`` gets now."""
    binds = runner.sandbox_binds(device)
    return tuple(binds) + tuple(runner.sandbox_masks(binds))


def checked_problem(device: str = "cpu", pool=None) -> str | None:
    """The self-test's problem for the cold sandbox, or for ``pool``'s, from this process's last test of the
    current layout or by testing now (and logging). Raises SandboxUnavailable when the test cannot run;
    returns :data:`UNVERIFIED` when the pool could not fork a sandbox to test."""
    sandbox = "pooled" if pool is not None else "cold"
    key = (os.getpid(), sandbox, device, _layout_key(device))
    with _lock:
        cached = _results.get(key)
        if cached is not None and (cached[0] is None or time.monotonic() - cached[1] < RECHECK_FAILED_SECONDS):
            return cached[0]
        started = time.monotonic()
        outcome = run_probe(device, pool)
        if outcome is None:
            return UNVERIFIED
        problem = describe(outcome, sandbox)
        _results[key] = (problem, time.monotonic())
    seconds = time.monotonic() - started
    if problem:
        logger.error("sandbox self-test: %s", problem)
    else:
        search = "" if outcome.complete else f"; the filesystem search stopped after {SEARCH_SECONDS} s"
        logger.info(
            "sandbox self-test: no hidden data readable inside a %s sandbox (%d paths checked in %.1f s%s)",
            sandbox,
            outcome.checked,
            seconds,
            search,
        )
    return problem


def verified_pool(pool, device: str):
    """The guard before a run: raises SandboxUnavailable when a hidden file is readable in the sandbox the
    run would get (cold, or forked from ``pool``). Returns the pool to run with: ``pool`` once its sandboxes
    have passed, None (run cold, which has) when the pool could not fork one to test yet."""
    problem = checked_problem(device)
    if problem:
        raise SandboxUnavailable(problem)
    if pool is None or not pool.enabled:
        return pool
    problem = checked_problem(device, pool)
    if problem == UNVERIFIED:
        return None
    if problem:
        raise SandboxUnavailable(problem)
    return pool


def forget() -> None:
    """Drop every remembered answer (tests that change the host's layout)."""
    with _lock:
        _results.clear()
