"""Which host files the sandbox shows, where, and which of them it must hide: the read-only tree's masks.

The sandbox's filesystem is a set of read-only binds (``workers.sandbox.runner.sandbox_binds``): ``/usr``, the
Python runtime at ``/opt/python``, the packages at ``/opt/site-packages``, and a few files. The same host
directory is often reachable through more than one of them. In the Docker image the runtime is
``/usr/local`` and the packages are ``/usr/local/lib/python3.11/site-packages``, so scikit-learn's data
appears three times inside: under ``/usr/local/...`` (the ``/usr`` bind), under ``/opt/python/...`` and under
``/opt/site-packages/...``. A mask by one well-known path hides only one of them.

So masks are computed by **real path**, whatever the installation layout:

1. :func:`hidden_paths` finds, on the trusted side, every installation of a package whose data must stay
   outside (``HIDDEN_PACKAGE_DATA``): the one this worker imports (by its spec, not by a prefix), and any
   other in the site directories of this Python and of every bound tree (a system Python's
   ``dist-packages`` under ``/usr``, a base runtime's ``site-packages``). Each data directory is resolved
   (symlinks followed), and so is every symlink inside it that leads out of it (a distribution that keeps
   the files in ``/usr/share`` and links them in).
2. :func:`mask_targets` maps each real path through every bind (resolved source -> destination) to each
   sandbox path at which it appears, and covers every one: a directory with an empty, read-only tmpfs, a
   file with ``/dev/null`` on a ``nodev`` read-only bind (opening it fails).

Symlinks inside the sandbox (``/lib -> usr/lib`` on a merged-/usr system, a link inside a bound tree) are
resolved by the kernel to a path under some bind, where the mask already is: a mount covers a directory
whatever path reaches it. What no mask can catch, a copy of the data under another name or in a place no
site directory names, is what the start-up self-test looks for (``workers.sandbox.selftest``).

This module imports only the standard library.
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Data sets that ship inside installed packages and that a challenge's hidden evaluation is built from
# (scikit-learn's digits, with their labels), relative to the directory packages are installed in.
HIDDEN_PACKAGE_DATA = ("sklearn/datasets/data", "sklearn/datasets/images", "sklearn/datasets/descr")

# Where a Python installation keeps its packages, relative to a bound tree's root: a prefix's own
# site-packages (CPython, a venv, conda), Debian's dist-packages for its system Python and for pip under
# /usr/local. Relative, never absolute: the root is whatever the sandbox binds (/usr, the runtime, ...).
SITE_DIR_PATTERNS = (
    "",
    "lib/python3*/site-packages",
    "lib/python3*/dist-packages",
    "lib/python3/dist-packages",
    "lib64/python3*/site-packages",
    "local/lib/python3*/site-packages",
    "local/lib/python3*/dist-packages",
)
# Trees that hold no installed packages and are not walked for them (sysfs and device nodes for CUDA).
_NOT_PACKAGE_TREES = ("/proc", "/sys", "/dev")
# A symlink chain inside a hidden directory is followed this many directories deep at most.
_MAX_LINKED_DIRS = 64


@dataclass(frozen=True)
class Bind:
    """One host path the sandbox shows: bwrap's ``option`` (``--ro-bind`` or ``--dev-bind``) from ``source``
    (a host path, resolved by bwrap as by :func:`os.path.realpath`) at ``dest`` inside."""

    option: str
    source: str
    dest: str


@dataclass(frozen=True)
class HiddenPath:
    """A host path (real: no symlink in it) that must not be readable inside. ``label`` names it for people
    (``sklearn/datasets/data`` or, for a file a link leads to, the link's name under it)."""

    path: str
    is_dir: bool
    label: str


@dataclass(frozen=True)
class Mask:
    """A sandbox path to cover: a directory with an empty read-only tmpfs, a file with ``/dev/null``."""

    path: str
    is_dir: bool
    hides: str  # the HiddenPath.label it covers


def _under(path: str, root: str) -> bool:
    """``path`` is ``root`` or inside it (both normalised, absolute)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _package_tree(bind: Bind) -> str | None:
    """The real directory a bind shows, when it is one that may hold installed packages."""
    if bind.option != "--ro-bind":
        return None
    real = os.path.realpath(bind.source)
    if not os.path.isdir(real) or any(_under(real, top) for top in _NOT_PACKAGE_TREES):
        return None
    return real


def site_directories(binds: Sequence[Bind]) -> list[str]:
    """Every directory that may hold installed packages the sandbox can see: this Python's own site
    directories and path entries, and the site directories found in every bound tree (real paths, no
    duplicates)."""
    candidates: list[str] = [entry for entry in sys.path if entry]
    candidates += site.getsitepackages([sys.prefix, sys.base_prefix])
    for scheme_key in ("purelib", "platlib"):
        candidates.append(sysconfig.get_paths()[scheme_key])
        candidates.append(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})[scheme_key])
    for bind in binds:
        tree = _package_tree(bind)
        if tree is None:
            continue
        for pattern in SITE_DIR_PATTERNS:
            candidates += glob.glob(os.path.join(tree, pattern)) if pattern else [tree]
    seen: dict[str, None] = {}
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if os.path.isdir(real):
            seen.setdefault(real, None)
    return list(seen)


def _package_locations(package: str, directories: Iterable[str]) -> list[str]:
    """Where ``package`` is installed: where this process imports it from, and in each of ``directories``.

    Found by the import system's own rules (``find_spec``), never by guessing a prefix; the package is not
    imported (no code of it runs here).
    """
    locations: list[str] = []
    try:
        own = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        own = None
    specs = [own]
    for directory in directories:
        try:
            specs.append(importlib.machinery.PathFinder.find_spec(package, [directory]))
        except (ImportError, OSError, ValueError):
            continue
    for spec in specs:
        if spec is not None and spec.submodule_search_locations:
            locations += [str(location) for location in spec.submodule_search_locations]
    return list(dict.fromkeys(locations))


def hidden_paths(binds: Sequence[Bind]) -> list[HiddenPath]:
    """The real host paths of every copy of ``HIDDEN_PACKAGE_DATA`` the sandbox could otherwise show."""
    by_package: dict[str, list[str]] = {}
    for relative in HIDDEN_PACKAGE_DATA:
        package, _, inside = relative.partition("/")
        by_package.setdefault(package, []).append(inside)
    directories = site_directories(binds)
    found: dict[str, HiddenPath] = {}
    for package, insides in by_package.items():
        for location in _package_locations(package, directories):
            for inside in insides:
                candidate = os.path.join(location, inside)
                if os.path.isdir(candidate):
                    _add_hidden_tree(found, os.path.realpath(candidate), f"{package}/{inside}")
    return sorted(found.values(), key=lambda hidden: hidden.path)


def _add_hidden_tree(found: dict[str, HiddenPath], root: str, label: str) -> None:
    """``root`` (a real directory) and whatever a symlink inside it leads to outside it, followed through
    at most ``_MAX_LINKED_DIRS`` directories (a link loop ends at a directory already taken)."""
    pending = [(root, label)]
    walked = 0
    while pending and walked < _MAX_LINKED_DIRS:
        directory, name = pending.pop()
        if any(known.is_dir and _under(directory, known.path) for known in found.values()):
            continue
        walked += 1
        found[directory] = HiddenPath(directory, True, name)
        for parent, dirs, files in os.walk(directory):
            for entry in dirs + files:
                link = os.path.join(parent, entry)
                if not os.path.islink(link):
                    continue
                target = os.path.realpath(link)
                if _under(target, directory) or not os.path.exists(target):
                    continue
                shown = f"{name}/{os.path.relpath(link, directory)}"
                if os.path.isdir(target):
                    pending.append((target, shown))
                else:
                    found.setdefault(target, HiddenPath(target, False, shown))


def sandbox_paths(real_path: str, binds: Sequence[Bind]) -> list[str]:
    """Every sandbox path at which the host's ``real_path`` appears through ``binds`` (shadowing ignored)."""
    paths = []
    for bind in binds:
        source = os.path.realpath(bind.source)
        if _under(real_path, source):
            paths.append(os.path.normpath(bind.dest + real_path[len(source) :]))
    return list(dict.fromkeys(paths))


def mask_targets(binds: Sequence[Bind], hidden: Sequence[HiddenPath]) -> list[Mask]:
    """The sandbox paths to cover so that no bind shows any of ``hidden``, outermost first, none nested in
    another (an empty read-only tmpfs has no room for a mount point, and needs none)."""
    masks: dict[str, Mask] = {}
    for index, bind in enumerate(binds):
        source = os.path.realpath(bind.source)
        later = [b.dest for b in binds[index + 1 :]]
        for item in hidden:
            if _under(item.path, source):
                target, is_dir = os.path.normpath(bind.dest + item.path[len(source) :]), item.is_dir
            elif _under(source, item.path):  # the bind itself shows hidden data: cover all of it
                target, is_dir = bind.dest, os.path.isdir(source)
            else:
                continue
            if any(_under(target, dest) for dest in later):
                continue  # a later bind covers this place; its own mapping decides what shows there
            masks.setdefault(target, Mask(target, is_dir, item.label))
    kept: list[Mask] = []
    for mask in sorted(masks.values(), key=lambda m: m.path):
        if not any(k.is_dir and _under(mask.path, k.path) for k in kept):
            kept.append(mask)
    return kept


def mask_args(masks: Sequence[Mask]) -> list[str]:
    """bwrap options for ``masks``; they follow every bind (a mask must cover whatever a bind shows)."""
    args: list[str] = []
    for mask in masks:
        if mask.is_dir:
            args += ["--perms", "0555", "--size", "4096", "--tmpfs", mask.path, "--remount-ro", mask.path]
        else:
            args += ["--ro-bind", "/dev/null", mask.path]
    return args
