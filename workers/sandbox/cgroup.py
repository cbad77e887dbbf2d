"""One cgroup per sandbox run: a hard cap on the run's total memory, process count, CPU and disk I/O.

RLIMIT_AS and RLIMIT_NPROC are per process (or per uid) and blind to memory that no process maps:
tmpfs and ``/dev/shm`` files, memfds, pipe buffers, and the kernel's own inodes and dentries. A
memory cgroup charges all of that to the run that allocated it, sums it over every process, and
OOM-kills inside the group when the sum reaches the limit, never outside it.

Layout (the worker never writes outside a subtree it was given):

* **cgroup v2** (``/sys/fs/cgroup`` is cgroup2, or the memory, pids and cpu controllers live in the
  unified hierarchy): ``<parent>/learnpath-sandboxes/<name>``. ``<parent>`` is
  ``$LEARNPATH_CGROUP_PARENT`` (a cgroup path such as ``/system.slice/learnpath.service``, or the
  same under the cgroup2 mount) or else the worker's own cgroup. v2 forbids processes in a cgroup
  whose ``cgroup.subtree_control`` enables controllers, so the parent must hold no process: the
  worker itself has to sit in a sibling leaf (``<parent>/worker``). :func:`cgroup_support` says so
  when it is not the case. ``learnpath-sandboxes`` is shared by the graders under one parent and
  never removed; each run's leaf is. Limits: ``memory.max``, ``memory.swap.max=0``,
  ``memory.oom.group=1`` (an OOM kill takes the whole run), ``pids.max``, ``cpu.max``, and ``io.max``
  where the ``io`` controller is delegated too (enabled when offered; without it only I/O goes unlimited).
* **cgroup v1** (separate memory, pids and cpu hierarchies): ``<mount>/<path>/learnpath/<name>`` in
  each, where ``<path>`` is ``$LEARNPATH_CGROUP_PARENT`` or else the worker's own cgroup in that
  hierarchy (``/proc/self/cgroup``), or the hierarchy's root when the own cgroup is not writable.
  Limits: ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes`` (same value: no swap; where
  swap accounting is off, ``memory.swappiness=0`` instead), ``memory.oom_control=0`` (OOM killer
  on, in case the parent disabled it), ``pids.max``, ``cpu.cfs_quota_us``/``cpu.cfs_period_us``.
  The freezer hierarchy, when mounted, gets a leaf too: :meth:`RunCgroup.kill_all` freezes the run
  before it signals it, so a fork bomb cannot replace what is being killed. So does blkio, for the
  ``blkio.throttle.*_device`` I/O limits.

Disk I/O (:class:`IoLimit`): learner code can read the runtime with O_DIRECT at the disk's full speed
(289-687 MB/s measured), which no memory or CPU limit slows. The throttle names whole block devices: those
behind the sandbox's bind sources, found by :func:`io_devices` (a partition's disk, since the kernel refuses
a partition with ENODEV). On v1 it holds O_DIRECT reads and writes and fsync'd writes (the I/O is issued in
the run's own context); buffered writes that the flusher threads write back later are charged to the root
group on v1, to the run on v2. Pages already in the page cache are not I/O and are not limited. Without a
blkio hierarchy or an ``io`` controller the other limits still apply; :func:`io_support` says why.

What the memory limit covers, verified on Linux 6.18 with cgroup v1 by ``tests/security/test_cgroup.py``:
anonymous memory summed over all the run's processes; shmem, i.e. tmpfs and ``/dev/shm`` files and
memfds; and kernel memory allocated with ``__GFP_ACCOUNT``: tmpfs inodes and dentries (an empty-file
flood fills 256 MB at about 276,000 files, ~0.95 KB each) and pipe buffers. On v1, kernel memory
has been charged to ``memory.usage_in_bytes`` itself since Linux 5.x, so the one limit covers it;
``memory.kmem.limit_in_bytes`` is a deprecated no-op there and is not written. What is not charged:
v1 socket buffers (TCP counts only once ``memory.kmem.tcp.limit_in_bytes`` is set, which is
deprecated too; the sandbox has no network anyway), and no kernel memory at all when the kernel
was booted with ``cgroup.memory=nokmem``. Pages a run leaves in a tmpfs outlive its processes and
stay charged to the group, even after it is removed (it lingers "offline"), until the tmpfs is
unmounted or the files are deleted. The sandbox's tmpfs lives in its own mount namespace and goes
with it.

On v1 the OOM signal is ``memory.oom_control``'s ``oom_kill`` counter. ``memory.failcnt`` stayed 0
here even when the OOM killer fired: on this kernel it is not a usable signal.

``memory.move_charge_at_immigrate`` stays 0 (and is deprecated): a forked child moved into the
group keeps its pre-fork pages charged to the worker; everything it allocates or copies-on-write
afterwards is the run's. ``memory.use_hierarchy`` is always 1 on current kernels, so the run's usage
also counts against the worker's own cgroup limit; nothing is written there.

``pids.max`` counts tasks, threads included (as RLIMIT_NPROC does), so a run's thread pools count
against ``max_processes``.

Standard library only: the worker imports this before torch, and :meth:`RunCgroup.attach_self`
runs between fork and exec.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

PARENT_ENV = "LEARNPATH_CGROUP_PARENT"
CGROUP_ROOT = "/sys/fs/cgroup"
V1_GROUP = "learnpath"
V2_GROUP = "learnpath-sandboxes"
REQUIRED = ("memory", "pids", "cpu")
# v1 hierarchies used when present; a failure there is not fatal (blkio's absence is reported at start-up).
V1_OPTIONAL = ("freezer", "blkio")
# v2 controllers enabled when delegated; without them the run still gets memory, pids and cpu.
V2_OPTIONAL = ("io",)
CPU_PERIOD_US = 100_000
_MIN_QUOTA_US = 1_000

_MOUNTINFO = "/proc/self/mountinfo"
_SELF_CGROUP = "/proc/self/cgroup"
_SYS_DEV_BLOCK = "/sys/dev/block"
_SYS_BLOCK = "/sys/block"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class CgroupUnavailable(RuntimeError):
    """Per-run cgroups cannot be created here; the message says what to delegate."""


# --------------------------------------------------------------------------- discovery


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> tuple[tuple[str, str] | None, dict[str, tuple[str, str]]]:
    """(cgroup2 mount, {v1 controller: mount}); a mount is (mount point, cgroup path of its root)."""
    unified: tuple[str, str] | None = None
    v1: dict[str, tuple[str, str]] = {}

    def better(new: tuple[str, str], old: tuple[str, str] | None) -> bool:
        # Prefer the mount that shows the whole (namespace's) hierarchy, then the one under /sys/fs/cgroup.
        if old is None:
            return True
        return (new[1] == "/", new[0].startswith(CGROUP_ROOT)) > (old[1] == "/", old[0].startswith(CGROUP_ROOT))

    try:
        with open(_MOUNTINFO) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) < sep + 4 or sep < 5:
            continue
        fstype, super_options = fields[sep + 1], fields[sep + 3]
        mount = (_unescape(fields[4]), _unescape(fields[3]))
        if fstype == "cgroup2":
            if better(mount, unified):
                unified = mount
        elif fstype == "cgroup":
            for option in super_options.split(","):
                if option in REQUIRED + V1_OPTIONAL and better(mount, v1.get(option)):
                    v1[option] = mount
    return unified, v1


def _self_cgroups() -> tuple[str | None, dict[str, str]]:
    """(v2 path, {v1 controller: path}) of this process, as /proc/self/cgroup shows them."""
    v2: str | None = None
    v1: dict[str, str] = {}
    try:
        with open(_SELF_CGROUP) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        else:
            for controller in parts[1].split(","):
                v1[controller] = parts[2]
    return v2, v1


def _fs_path(mount: tuple[str, str], cgroup_path: str) -> str | None:
    """Where a cgroup path (relative to our cgroup namespace) lies under a mount, or None if outside it."""
    point, root = mount
    root = root.rstrip("/")
    if cgroup_path != root and not cgroup_path.startswith(root + "/") and root:
        return None
    return os.path.normpath(point + "/" + cgroup_path[len(root) :])


def _cgroup_path(mount: tuple[str, str], fs_path: str) -> str:
    """The inverse of :func:`_fs_path`: the path /proc/<pid>/cgroup shows for a directory of the mount."""
    point, root = mount
    rel = os.path.relpath(fs_path, point)
    return "/" + "/".join(part for part in (root.strip("/"), "" if rel == "." else rel) if part)


def _configured_parent(mount: tuple[str, str]) -> str | None:
    value = os.environ.get(PARENT_ENV, "").strip()
    if not value:
        return None
    point = mount[0].rstrip("/")
    if value == point or value.startswith(point + "/"):
        return os.path.normpath(value)
    path = _fs_path(mount, "/" + value.strip("/"))
    if path is None:
        raise CgroupUnavailable(
            f"{PARENT_ENV}={value} lies outside the cgroup tree mounted at {point} (root {mount[1]})"
        )
    return path


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _write(path: str, value: str) -> None:
    """Write one value to an existing cgroup interface file (never creates a file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _mkdir_cgroup(path: str) -> None:
    """mkdir of a cgroup directory (the kernel fills it with interface files). Raises FileExistsError."""
    os.mkdir(path, 0o755)


def _rmdir_cgroup(path: str) -> None:
    """rmdir of a cgroup directory: EBUSY while a process is still in it."""
    os.rmdir(path)


class _Layout:
    """Where this process may create per-run groups: version and, per hierarchy, (mount, parent dir).

    ``missing`` says, per optional controller that runs will not get, why not (for the start-up report).
    """

    def __init__(
        self, version: int, parents: dict[str, tuple[tuple[str, str], str]], missing: dict[str, str] | None = None
    ) -> None:
        self.version = version
        self.parents = parents
        self.missing = missing or {}


def _layout() -> _Layout:
    unified, v1_mounts = _mounts()
    self_v2, self_v1 = _self_cgroups()
    if unified is not None:
        try:
            available = set(_read(os.path.join(unified[0], "cgroup.controllers")).split())
        except OSError:
            available = set()
        if set(REQUIRED) <= available or not v1_mounts:
            return _layout_v2(unified, self_v2)
    missing = [c for c in REQUIRED if c not in v1_mounts]
    if missing:
        where = f"the cgroup2 mount {unified[0]} offers " if unified else "no cgroup2 mount; "
        have = " ".join(sorted(available)) if unified else ""
        raise CgroupUnavailable(
            f"no usable cgroup hierarchy for {', '.join(missing)}: {where}{have or 'nothing'} and no cgroup v1 "
            f"mount carries {', '.join(missing)}; mount cgroup2 at {CGROUP_ROOT} with memory, pids and cpu enabled"
        )
    parents: dict[str, tuple[tuple[str, str], str]] = {}
    missing_optional: dict[str, str] = {}
    for controller in REQUIRED + V1_OPTIONAL:
        mount = v1_mounts.get(controller)
        if mount is None:
            missing_optional[controller] = (
                f"no cgroup v1 {controller} hierarchy is mounted (mount -t cgroup -o {controller} cgroup "
                f"{CGROUP_ROOT}/{controller}; in a container, make the host's visible and writable)"
            )
            continue
        candidates = []
        configured = _configured_parent(mount)
        if configured is not None:
            candidates.append(configured)
        else:
            own = self_v1.get(controller)
            if own is not None and (path := _fs_path(mount, own)) is not None:
                candidates.append(path)
            candidates.append(mount[0])
        usable = next((c for c in candidates if os.path.isdir(c) and os.access(c, os.W_OK)), None)
        if usable is None:
            if controller not in REQUIRED:
                missing_optional[controller] = (
                    f"cgroup v1 {controller} hierarchy: cannot write {candidates[0]} (not owned by uid "
                    f"{os.geteuid()} or mounted read-only); make it writable as memory, pids and cpu are"
                )
                continue
            if not os.path.isdir(candidates[0]):
                raise CgroupUnavailable(
                    f"cgroup v1 {controller} hierarchy: {candidates[0]} does not exist; create it (in memory, pids "
                    f"and cpu alike) or unset {PARENT_ENV}"
                )
            raise CgroupUnavailable(
                f"cgroup v1 {controller} hierarchy: cannot write {candidates[0]} "
                f"(mounted read-only or not owned by uid {os.geteuid()}); mount {mount[0]} read-write "
                f"(docker: --cgroupns=private with a writable /sys/fs/cgroup, or a bind mount of a delegated "
                f"subtree) or set {PARENT_ENV} to a cgroup path writable in memory, pids and cpu"
            )
        parents[controller] = (mount, usable)
    return _Layout(1, parents, missing_optional)


def _layout_v2(unified: tuple[str, str], self_v2: str | None) -> _Layout:
    configured = _configured_parent(unified)
    if configured is not None:
        parent = configured
        source = f"{PARENT_ENV}={os.environ.get(PARENT_ENV)}"
    else:
        own = _fs_path(unified, self_v2) if self_v2 is not None else None
        if own is None:
            raise CgroupUnavailable(
                f"cgroup v2: this process's cgroup ({self_v2}) is not visible under {unified[0]}; "
                f"set {PARENT_ENV} to a delegated cgroup"
            )
        parent = own
        source = "the worker's own cgroup"
    if not os.path.isdir(parent):
        raise CgroupUnavailable(f"cgroup v2: {parent} ({source}) does not exist; create and delegate it")
    try:
        available = set(_read(os.path.join(parent, "cgroup.controllers")).split())
        enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
    except OSError as exc:
        raise CgroupUnavailable(f"cgroup v2: cannot read {parent} ({source}): {exc}") from exc
    missing = [c for c in REQUIRED if c not in available]
    if missing:
        raise CgroupUnavailable(
            f"cgroup v2: {', '.join(missing)} not delegated to {parent} ({source}): enable them in its parent's "
            "cgroup.subtree_control (systemd: Delegate=yes on the worker's unit; docker: run with "
            f"--cgroupns=private on a cgroup v2 host) or set {PARENT_ENV} to a cgroup that has them"
        )
    subtree = os.path.join(parent, V2_GROUP)
    if not os.access(parent, os.W_OK) and not os.access(subtree, os.W_OK):
        raise CgroupUnavailable(
            f"cgroup v2: {parent} ({source}) is not writable by uid {os.geteuid()}: delegate it (systemd "
            f"Delegate=yes, or chown the directory and its cgroup.procs/cgroup.subtree_control) or set {PARENT_ENV}"
        )
    need = [c for c in REQUIRED if c not in enabled]
    # Only the real root cgroup (the one without cgroup.type) may hold processes and enable controllers.
    if need and _has_processes(parent) and os.path.exists(os.path.join(parent, "cgroup.type")):
        if os.path.normpath(parent) == os.path.normpath(unified[0]):
            # The top of a cgroup namespace (a container) looks like a root but is not one to the kernel.
            raise CgroupUnavailable(
                f"cgroup v2: processes sit in {parent}, the top of this cgroup namespace, so {', '.join(need)} "
                f"cannot be enabled below it: move them to a leaf first (mkdir {parent}/init, write each pid of "
                f"{parent}/cgroup.procs to {parent}/init/cgroup.procs, then echo '+memory +pids +cpu +io' > "
                f"{parent}/cgroup.subtree_control) or set {PARENT_ENV} to a delegated cgroup"
            )
        raise CgroupUnavailable(
            f"cgroup v2: the worker's processes sit in {parent} ({source}), so {', '.join(need)} cannot be enabled "
            "for its children (no internal processes rule): run the worker in a leaf below it "
            f"(e.g. {parent}/worker; systemd: Delegate=yes with DelegateSubgroup=worker) and set "
            f"{PARENT_ENV}={_cgroup_path(unified, parent)}"
        )
    missing_optional = {
        controller: (
            f"cgroup v2: {controller} is not delegated to {parent} ({source}; it has {' '.join(sorted(available))}): "
            f"enable it in its parent's cgroup.subtree_control as memory, pids and cpu are (systemd: Delegate=yes "
            f"delegates it too; docker: add +{controller} to the entrypoint's cgroup.subtree_control)"
        )
        for controller in V2_OPTIONAL
        if controller not in available
    }
    return _Layout(2, {"unified": (unified, parent)}, missing_optional)


def _has_processes(path: str) -> bool:
    try:
        return bool(_read(os.path.join(path, "cgroup.procs")).split())
    except OSError:
        return False


def _enable_controllers(path: str) -> None:
    control = os.path.join(path, "cgroup.subtree_control")
    enabled = set(_read(control).split())
    need = [c for c in REQUIRED if c not in enabled]
    try:
        available = set(_read(os.path.join(path, "cgroup.controllers")).split())
    except OSError:
        available = set()
    extra = [c for c in V2_OPTIONAL if c in available and c not in enabled]
    if extra:
        try:
            # One write: the kernel applies all of it or none, and a regular file (a test's tree) is not truncated.
            _write(control, " ".join("+" + c for c in need + extra))
            return
        except OSError:
            pass  # an optional controller refused must not cost the run its memory, pids and cpu limits
    if need:
        _write(control, " ".join("+" + c for c in need))


# --------------------------------------------------------------------------- disk I/O

# Filesystems held in memory or made up by the kernel: reading them touches no disk, so nothing to throttle.
_MEMORY_FS = frozenset(
    "tmpfs ramfs devtmpfs proc sysfs devpts mqueue hugetlbfs cgroup cgroup2 securityfs debugfs tracefs bpf "
    "configfs pstore efivarfs nsfs binfmt_misc autofs fusectl".split()
)
_DEVICE = re.compile(r"[0-9]{1,10}:[0-9]{1,10}")
# IoLimit field -> v1 blkio file, and -> v2 io.max key.
_V1_IO_FILES = {
    "read_bps": "blkio.throttle.read_bps_device",
    "write_bps": "blkio.throttle.write_bps_device",
    "read_iops": "blkio.throttle.read_iops_device",
    "write_iops": "blkio.throttle.write_iops_device",
}
_V2_IO_KEYS = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"}


@dataclass(frozen=True)
class IoLimit:
    """A run's disk I/O ceiling on each of ``devices`` ("MAJ:MIN" of whole block devices, from
    :func:`io_devices`): bytes and operations a second, each on its own; 0 leaves one unlimited.

    The kernel applies it per device and per group: every process of the run shares it, and a run reading
    two disks may use the rate on each.
    """

    devices: tuple[str, ...]
    read_bps: int = 0
    write_bps: int = 0
    read_iops: int = 0
    write_iops: int = 0

    def __post_init__(self) -> None:
        for device in self.devices:
            if not _DEVICE.fullmatch(device):
                raise ValueError(f"bad block device {device!r}: MAJ:MIN expected")
        if min(self.rates().values()) < 0:
            raise ValueError("I/O rates must be >= 0 (0: unlimited)")

    def rates(self) -> dict[str, int]:
        return {
            "read_bps": self.read_bps,
            "write_bps": self.write_bps,
            "read_iops": self.read_iops,
            "write_iops": self.write_iops,
        }

    @property
    def active(self) -> bool:
        return bool(self.devices) and any(self.rates().values())


def io_max_line(device: str, limit: IoLimit) -> str:
    """cgroup v2 ``io.max`` for one device: every key written, ``max`` where a rate is 0, so that a rule left
    by anything else on the group is replaced whole."""
    return device + "".join(f" {key}={getattr(limit, name) or 'max'}" for name, key in _V2_IO_KEYS.items())


@dataclass
class IoDevices:
    """What :func:`io_devices` found: the devices to throttle and what it could not cover."""

    devices: dict[str, str] = field(default_factory=dict)  # "MAJ:MIN" of a whole disk -> its name (vda, dm-0)
    problems: list[str] = field(default_factory=list)  # a path whose reads no throttle reaches, and why
    notes: list[str] = field(default_factory=list)  # where a device was found other than by the path's own


class _Mount:
    def __init__(self, fields: list[str], sep: int) -> None:
        self.device = fields[2]
        self.point = _unescape(fields[4])
        self.fstype = fields[sep + 1]
        self.source = _unescape(fields[sep + 2])
        self.options = fields[sep + 3].split(",")


def _mount_table() -> list[_Mount]:
    try:
        with open(_MOUNTINFO) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    table = []
    for line in lines:
        fields = line.split()
        if "-" in fields and (sep := fields.index("-")) >= 5 and len(fields) >= sep + 4:
            table.append(_Mount(fields, sep))
    return table


def _st_dev(path: str) -> int:
    return os.stat(path).st_dev


def _block_node(path: str) -> int | None:
    """The device number of a block device node (a mount's source such as /dev/sda2), or None."""
    if not path.startswith("/"):
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_rdev if stat.S_ISBLK(info.st_mode) else None


def _whole_disk(major: int, minor: int) -> tuple[str, str]:
    """(MAJ:MIN, name) of the device a throttle must name: the kernel refuses a partition (ENODEV), and a
    partition's I/O is its disk's. A device-mapper, md or loop device is named itself: bios reach it first,
    with the run's group, before it passes them on."""
    node = os.path.join(_SYS_DEV_BLOCK, f"{major}:{minor}")
    real = os.path.realpath(node)
    if os.path.exists(os.path.join(node, "partition")):
        disk = os.path.dirname(real)
        with contextlib.suppress(OSError):
            return _read(os.path.join(disk, "dev")).strip(), os.path.basename(disk)
    return f"{major}:{minor}", os.path.basename(real) if os.path.exists(node) else f"{major}:{minor}"


def _every_disk() -> dict[str, str]:
    """Every block device of the host that holds data (size > 0): sysfs lists only whole disks here."""
    disks = {}
    try:
        names = sorted(os.listdir(_SYS_BLOCK))
    except OSError:
        return disks
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            if int(_read(os.path.join(_SYS_BLOCK, name, "size"))) > 0:
                disks[_read(os.path.join(_SYS_BLOCK, name, "dev")).strip()] = name
    return disks


def _overlay_layers(options: list[str]) -> list[str]:
    layers = []
    for option in options:
        key, _, value = option.partition("=")
        if key in ("lowerdir", "upperdir"):
            # Layers are ':'-separated; a ':' inside a layer's path is escaped as '\:'.
            layers += [part.replace("\\:", ":") for part in re.split(r"(?<!\\):", value) if part]
        elif key in ("lowerdir+", "datadir+"):
            layers.append(value)
    return layers


def _mount_of(path: str, device: str, table: list[_Mount]) -> _Mount | None:
    """The mount that ``path`` (on ``device``) lies in: the deepest mount point above it with that device."""
    real = os.path.realpath(path)
    candidates = [m for m in table if m.device == device]
    above = [m for m in candidates if real == m.point or real.startswith(m.point.rstrip("/") + "/")]
    return max(above, key=lambda m: len(m.point), default=candidates[0] if candidates else None)


def io_devices(paths: Iterable[str]) -> IoDevices:
    """The block devices a throttle must name so that reading ``paths`` (the sandbox's bind sources) is limited.

    A path's own device (``st_dev``) when it is a block device, its whole disk when it is a partition.
    An anonymous device (major 0) is a filesystem with no device of its own: nothing to throttle for one held
    in memory (tmpfs); the source's device for one such as btrfs; for an overlay, the devices of its layers
    when this mount namespace sees them, else (a container's root, whose layers are host paths) every disk
    of the host, since the one beneath cannot be told from inside; a network or FUSE filesystem has no local
    device and is reported as a problem.
    """
    table = _mount_table()
    found = IoDevices()

    def add(number: int) -> None:
        device, name = _whole_disk(os.major(number), os.minor(number))
        found.devices.setdefault(device, name)

    def resolve(path: str, depth: int) -> None:
        try:
            number = _st_dev(path)
        except OSError:
            return  # not there: bwrap refuses to bind it, so the sandbox cannot read it either
        if os.major(number) != 0:
            add(number)
            return
        device = f"0:{os.minor(number)}"
        mount = _mount_of(path, device, table)
        if mount is None:
            found.problems.append(f"{path} is on device {device}, which {_MOUNTINFO} does not list")
        elif mount.fstype in _MEMORY_FS:
            return
        elif (source := _block_node(mount.source)) is not None:
            add(source)
        elif mount.fstype == "overlay":
            layers = _overlay_layers(mount.options)
            if layers and depth < 4 and all(os.path.isdir(layer) for layer in layers):
                for layer in layers:
                    resolve(layer, depth + 1)
                return
            disks = _every_disk()
            if not disks:
                found.problems.append(
                    f"{path} is on an overlay ({mount.point}) whose layers are not visible here and {_SYS_BLOCK} "
                    "lists no disk: mount /sys, or put the Python runtime and site-packages on a volume"
                )
                return
            for disk, name in disks.items():
                found.devices.setdefault(disk, name)
            found.notes.append(
                f"{path} is on an overlay ({mount.point}) whose layers are not visible here, so every disk of the "
                f"host is limited ({', '.join(sorted(disks.values()))})"
            )
        else:
            found.problems.append(
                f"{path} is on {mount.fstype} ({mount.source}), which no local block device backs, so its reads "
                "cannot be throttled: put the Python runtime and site-packages on a local disk"
            )

    for path in dict.fromkeys(paths):
        resolve(path, 0)
    return found


def io_support(limit: IoLimit) -> str | None:
    """None when a run's group takes ``limit`` on every one of its devices; else why not, in words an operator
    can act on. Probes with a group of its own, as :func:`cgroup_support` does."""
    if not limit.active:
        return "no block device or no rate to limit"
    try:
        probe = RunCgroup.create(
            f"probe-io-{os.getpid()}-{secrets.token_hex(4)}",
            memory_bytes=64 << 20,
            max_processes=4,
            cpu_cores=1.0,
            io=limit,
        )
    except CgroupUnavailable as exc:
        return str(exc)
    held = probe.io_limits()
    try:
        probe.remove()
    except (OSError, TimeoutError) as exc:
        return f"a probe cgroup could not be removed: {exc}"
    wanted = {name: value for name, value in limit.rates().items() if value}
    lost = [d for d in limit.devices if {k: v for k, v in held.get(d, {}).items() if v} != wanted]
    if lost:
        return f"the kernel did not keep the I/O limit on {', '.join(lost)} (it holds {held})"
    return None


# --------------------------------------------------------------------------- the per-run group


def cgroup_support() -> str | None:
    """None when per-run cgroups work here; else a one-line reason an operator can act on (what to delegate)."""
    try:
        probe = RunCgroup.create(
            f"probe-{os.getpid()}-{secrets.token_hex(4)}", memory_bytes=64 << 20, max_processes=4, cpu_cores=1.0
        )
    except CgroupUnavailable as exc:
        return str(exc)
    try:
        probe.remove()
    except (OSError, TimeoutError) as exc:
        return f"a probe cgroup could not be removed: {exc}"
    return None


class RunCgroup:
    """One cgroup per sandbox run: caps total memory (including shmem/tmpfs/memfd pages and kernel memory),
    process count and CPU.

    Create it in the worker, pass :meth:`attach_self` as (part of) the ``preexec_fn`` of the process
    that starts the run, read :meth:`oom_killed`/:meth:`memory_peak_bytes` when the run ends (they keep
    their last values after :meth:`remove`), and :meth:`remove` it in a ``finally``.
    """

    def __init__(self, name: str, version: int, leaves: dict[str, tuple[tuple[str, str], str]]) -> None:
        self.name = name
        self.version = version
        # hierarchy key ("unified" or a v1 controller) -> (mount, leaf directory); one entry per directory.
        self._leaves = leaves
        self._procs_files = [os.path.join(leaf, "cgroup.procs").encode() for leaf in self.paths]
        key = "unified" if version == 2 else "memory"
        mount, leaf = leaves[key]
        self._member = ("" if version == 2 else "memory", _cgroup_path(mount, leaf))
        self._removed = False
        self._final_peak: int | None = None
        self._final_oom = False

    # -- creation --------------------------------------------------------------------------------

    @classmethod
    def create(
        cls, name: str, *, memory_bytes: int, max_processes: int, cpu_cores: float, io: IoLimit | None = None
    ) -> RunCgroup:
        """Make the run's group with its limits set; raises :class:`CgroupUnavailable`.

        ``name`` must be unique on the host (e.g. ``f"run-{os.getpid()}-{uid}-{token}"``): a group
        that already exists is never reused. An active ``io`` limit that this host cannot apply (no blkio
        hierarchy, no io controller, a device the kernel refuses) fails the creation: the caller asks for one
        only where :func:`io_support` said it works.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"bad cgroup name {name!r}: letters, digits, '.', '_', '-' only, at most 128")
        if memory_bytes <= 0 or max_processes < 1 or not cpu_cores > 0:
            raise ValueError("memory_bytes, max_processes and cpu_cores must be positive")
        layout = _layout()
        if io is not None and io.active and (missing := layout.missing.get("io" if layout.version == 2 else "blkio")):
            raise CgroupUnavailable(missing)  # before anything is made: io_support asks on every run until it works
        quota = max(_MIN_QUOTA_US, int(cpu_cores * CPU_PERIOD_US))
        created: list[str] = []
        leaves: dict[str, tuple[tuple[str, str], str]] = {}
        try:
            if layout.version == 2:
                mount, parent = layout.parents["unified"]
                subtree = os.path.join(parent, V2_GROUP)
                _enable_controllers(parent)
                with contextlib.suppress(FileExistsError):
                    _mkdir_cgroup(subtree)
                _enable_controllers(subtree)
                leaf = os.path.join(subtree, name)
                _mkdir_cgroup(leaf)
                created.append(leaf)
                leaves["unified"] = (mount, leaf)
                _write(os.path.join(leaf, "memory.max"), str(memory_bytes))
                for optional, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                    if os.path.exists(os.path.join(leaf, optional)):
                        _write(os.path.join(leaf, optional), value)
                _write(os.path.join(leaf, "pids.max"), str(max_processes))
                _write(os.path.join(leaf, "cpu.max"), f"{quota} {CPU_PERIOD_US}")
                if io is not None and io.active:
                    cls._limit_io(2, leaf, io, layout.missing.get("io"))
            else:
                for controller, (mount, parent) in layout.parents.items():
                    base = os.path.join(parent, V1_GROUP)
                    leaf = os.path.join(base, name)
                    if leaf not in created:  # co-mounted controllers (cpu,cpuacct,...) share one directory
                        try:
                            with contextlib.suppress(FileExistsError):
                                _mkdir_cgroup(base)
                            _mkdir_cgroup(leaf)
                        except FileExistsError:
                            raise
                        except OSError:
                            if controller in REQUIRED:
                                raise
                            continue
                        created.append(leaf)
                    leaves[controller] = (mount, leaf)
                cls._limit_v1(leaves, memory_bytes, max_processes, quota)
                if io is not None and io.active:
                    blkio = leaves.get("blkio", (None, ""))[1]
                    reason = layout.missing.get("blkio") or "cannot create the run's group in the blkio hierarchy"
                    cls._limit_io(1, blkio, io, reason)
        except CgroupUnavailable:
            cls._undo(created)
            raise
        except FileExistsError as exc:
            cls._undo(created)
            raise CgroupUnavailable(f"cgroup {exc.filename} already exists; names must be unique per run") from exc
        except OSError as exc:
            cls._undo(created)
            raise CgroupUnavailable(
                f"cgroup v{layout.version}: cannot set up {exc.filename or name}: {exc.strerror or exc}"
            ) from exc
        return cls(name, layout.version, leaves)

    @staticmethod
    def _limit_v1(leaves: dict[str, tuple[tuple[str, str], str]], memory: int, processes: int, quota: int) -> None:
        def leaf_of(controller: str) -> str:
            return leaves[controller][1]

        mem = leaf_of("memory")
        _write(os.path.join(mem, "memory.limit_in_bytes"), str(memory))
        if os.path.exists(os.path.join(mem, "memory.memsw.limit_in_bytes")):
            _write(os.path.join(mem, "memory.memsw.limit_in_bytes"), str(memory))
        else:
            _write(os.path.join(mem, "memory.swappiness"), "0")
        if "oom_kill_disable 0" not in _read(os.path.join(mem, "memory.oom_control")):
            _write(os.path.join(mem, "memory.oom_control"), "0")
        move = os.path.join(mem, "memory.move_charge_at_immigrate")
        if os.path.exists(move) and _read(move).strip() != "0":
            _write(move, "0")
        _write(os.path.join(leaf_of("pids"), "pids.max"), str(processes))
        cpu = leaf_of("cpu")
        _write(os.path.join(cpu, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
        _write(os.path.join(cpu, "cpu.cfs_quota_us"), str(quota))

    @staticmethod
    def _limit_io(version: int, leaf: str, io: IoLimit, missing: str | None) -> None:
        """Throttle the run's reads and writes on each device; v1 takes one rule per file, v2 one line per device."""
        if not leaf or not os.path.exists(os.path.join(leaf, "io.max" if version == 2 else _V1_IO_FILES["read_bps"])):
            raise CgroupUnavailable(missing or f"cgroup v{version}: the run's group has no I/O controller")
        for device in io.devices:
            try:
                if version == 2:
                    _write(os.path.join(leaf, "io.max"), io_max_line(device, io))
                    continue
                for name, value in io.rates().items():
                    if value:  # a 0 would only delete a rule the new group does not have
                        _write(os.path.join(leaf, _V1_IO_FILES[name]), f"{device} {value}")
            except OSError as exc:
                raise CgroupUnavailable(
                    f"cgroup v{version}: the kernel refused an I/O limit on block device {device}, a disk behind "
                    f"the sandbox's files ({exc.strerror or exc}): see docs/operations.md, 'Disk I/O per run'"
                ) from exc

    @staticmethod
    def _undo(created: list[str]) -> None:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                _rmdir_cgroup(path)

    # -- use -------------------------------------------------------------------------------------

    @property
    def paths(self) -> list[str]:
        """The run's cgroup directories (one per hierarchy on v1)."""
        return list(dict.fromkeys(leaf for _, leaf in self._leaves.values()))

    def attach_self(self) -> None:
        """Move the calling process into the group. Meant for a ``preexec_fn``: between fork and exec it
        only calls os.open/os.write/os.close on paths prepared in advance; an OSError aborts the exec.
        """
        for path in self._procs_files:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")  # pid 0: the writing process itself
            finally:
                os.close(fd)

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (a host pid) into the group: how a run forked by the pool's zygote joins it."""
        for path in self._procs_files:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(pid).encode())
            finally:
                os.close(fd)

    def pids(self) -> list[int]:
        """Live processes in the group (zombies are not listed)."""
        found: set[int] = set()
        for leaf in self.paths:
            try:
                found.update(int(p) for p in _read(os.path.join(leaf, "cgroup.procs")).split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def _is_member(self, pid: int) -> bool:
        key, path = self._member
        try:
            lines = _read(f"/proc/{pid}/cgroup").splitlines()
        except OSError:
            return False
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) == 3 and (parts[1] == key if key == "" else key in parts[1].split(",")):
                return parts[2] == path
        return False

    def _kill(self, pid: int) -> None:
        """SIGKILL ``pid`` only if it is (still) ours: a pidfd pins the process across the membership check."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        except OSError:
            if self._is_member(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            return
        try:
            if self._is_member(pid):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        finally:
            os.close(pidfd)

    def _try_write(self, path: str, value: str) -> bool:
        try:
            _write(path, value)
            return True
        except OSError:
            return False

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every process in the group until it is empty; TimeoutError if some survive ``timeout``."""
        deadline = time.monotonic() + timeout
        leaf = self._leaves.get("unified", (None, ""))[1]
        if self.version == 2 and self._try_write(os.path.join(leaf, "cgroup.kill"), "1"):
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.005)
        freezer = self._leaves.get("freezer", (None, ""))[1]
        delay = 0.001
        while pids := self.pids():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"cgroup {self.name}: processes {pids[:20]} survived SIGKILL for {timeout:g} s")
            if freezer:
                # v1: frozen tasks cannot fork; SIGKILL stays pending until they are thawed.
                state = os.path.join(freezer, "freezer.state")
                if self._try_write(state, "FROZEN"):
                    freeze_by = min(deadline, time.monotonic() + 0.5)
                    while time.monotonic() < freeze_by:
                        try:
                            if _read(state).strip() == "FROZEN":
                                break
                        except OSError:
                            break
                        time.sleep(0.001)
                for pid in self.pids():
                    self._kill(pid)
                self._try_write(state, "THAWED")
            else:
                if self.version == 2:
                    self._try_write(os.path.join(leaf, "cgroup.freeze"), "1")  # v2 lets SIGKILL through
                for pid in pids:
                    self._kill(pid)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    # -- accounting ------------------------------------------------------------------------------

    def _mem_leaf(self) -> str:
        return self._leaves["unified" if self.version == 2 else "memory"][1]

    def memory_peak_bytes(self) -> int | None:
        """Highest memory usage of the group so far (v1 memory.max_usage_in_bytes, v2 memory.peak), or None."""
        if self._removed:
            return self._final_peak
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(os.path.join(self._mem_leaf(), name)).split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def oom_killed(self) -> bool:
        """True when the kernel OOM-killed a process of the group or an allocation failed at its limit.

        v2: memory.events ``oom_kill``/``oom``. v1: memory.oom_control ``oom_kill`` or ``under_oom``;
        ``memory.failcnt`` only on kernels older than 4.13 that lack the ``oom_kill`` counter (failcnt also
        counts hits that reclaim resolved, e.g. page cache, so it would flag healthy runs).
        """
        if self._removed:
            return self._final_oom
        try:
            if self.version == 2:
                events = _keyed(_read(os.path.join(self._mem_leaf(), "memory.events")))
                return events.get("oom_kill", 0) > 0 or events.get("oom", 0) > 0 or events.get("oom_group_kill", 0) > 0
            control = _keyed(_read(os.path.join(self._mem_leaf(), "memory.oom_control")))
            if "oom_kill" in control:
                return control["oom_kill"] > 0 or control.get("under_oom", 0) > 0
            return int(_read(os.path.join(self._mem_leaf(), "memory.failcnt"))) > 0
        except (OSError, ValueError):
            return False

    def io_limits(self) -> dict[str, dict[str, int]]:
        """The I/O limits the kernel holds for the group, per device: {"254:0": {"read_bps": ..., ...}}
        (0: unlimited). Read back from blkio.throttle.* (v1) or io.max (v2); {} when it has neither."""
        held: dict[str, dict[str, int]] = {}
        try:
            if self.version == 2:
                for line in _read(os.path.join(self._leaves["unified"][1], "io.max")).splitlines():
                    device, *pairs = line.split()
                    keys = dict(pair.split("=", 1) for pair in pairs)
                    held[device] = {
                        name: 0 if keys.get(key, "max") == "max" else int(keys[key])
                        for name, key in _V2_IO_KEYS.items()
                    }
                return held
            leaf = self._leaves.get("blkio", (None, ""))[1]
            if not leaf:
                return held
            for name, filename in _V1_IO_FILES.items():
                for line in _read(os.path.join(leaf, filename)).splitlines():
                    device, value = line.split()
                    held.setdefault(device, dict.fromkeys(_V2_IO_KEYS, 0))[name] = int(value)
        except (OSError, ValueError):
            return {}
        return held

    # -- teardown --------------------------------------------------------------------------------

    def remove(self, timeout: float = 5.0) -> None:
        """kill_all, then rmdir the run's directories. Idempotent; an already-removed group is not an error.

        Raises TimeoutError when processes survive SIGKILL (a task stuck in the kernel), leaving the group.
        """
        if self._removed:
            return
        if not any(os.path.isdir(leaf) for leaf in self.paths):
            self._removed = True
            return
        deadline = time.monotonic() + timeout
        self.kill_all(timeout)
        peak, oom = self.memory_peak_bytes(), self.oom_killed()
        remaining = self.paths
        while remaining:
            busy = []
            for leaf in remaining:
                try:
                    _rmdir_cgroup(leaf)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        raise
                    busy.append(leaf)
            remaining = busy
            if remaining:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"cgroup {self.name}: {remaining} still busy after {timeout:g} s")
                self.kill_all(max(0.1, deadline - time.monotonic()))
                time.sleep(0.01)
        self._final_peak, self._final_oom = peak, oom
        self._removed = True

    def __enter__(self) -> RunCgroup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"RunCgroup({self.name!r}, v{self.version}, {self.paths})"


def _keyed(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out
