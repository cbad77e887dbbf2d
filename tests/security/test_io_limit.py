"""Disk I/O per run: the run's cgroup throttles reads and writes on every disk behind the sandbox's files.

Learner code could read the runtime with O_DIRECT at the disk's full speed (289-687 MB/s measured here),
starving other gradings and the host. What is tested:

* the pure parts: the v2 ``io.max`` line, the limits' values from the environment, and which device a
  throttle must name (partition -> disk, device-mapper, tmpfs, btrfs, overlay, NFS) on a fake sysfs;
* cgroup v2 on a fake tree (``io`` enabled and ``io.max`` written where delegated, a clear refusal where not)
  and cgroup v1 without a blkio mount (the start-up report says so; runs keep their other limits);
* the real kernel: the limits a group holds, read back from it, and O_DIRECT reads and writes by a process
  in the group, whose throughput must stay under a generous multiple of the limit: noise on a busy machine
  only makes I/O slower, never faster, so the bound cannot fail by chance, while an unthrottled disk passes
  it by an order of magnitude;
* the sandbox, cold and pooled: hostile learner code reading the runtime with O_DIRECT is throttled, and
  its run's own cgroup held the limit on the disk behind site-packages and counted the bytes it read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.security.conftest import HOSTILE_LIMITS, run_hostile
from workers.sandbox import Limits, cgroup, runner
from workers.sandbox.cgroup import CgroupUnavailable, IoLimit, RunCgroup, cgroup_support, io_devices, io_support
from workers.sandbox.limits import IO_LIMIT_DEFAULTS

MB = 1 << 20
IO_ENV = tuple(IO_LIMIT_DEFAULTS)


# --------------------------------------------------------------------------- pure parts


def test_io_max_line_writes_every_key_and_max_where_unlimited():
    limit = IoLimit(("8:0",), read_bps=50 * MB, write_bps=0, read_iops=2000, write_iops=1000)
    assert cgroup.io_max_line("8:0", limit) == "8:0 rbps=52428800 wbps=max riops=2000 wiops=1000"
    assert cgroup.io_max_line("259:0", IoLimit(("259:0",))) == "259:0 rbps=max wbps=max riops=max wiops=max"


def test_io_limit_refuses_what_is_not_a_device_or_a_rate():
    # A device string goes into a cgroup file: anything but MAJ:MIN could smuggle a second rule in.
    for bad in ("8:0\n8:16 1", "sda", "8:0 ", ":0", "8:"):
        with pytest.raises(ValueError):
            IoLimit((bad,), read_bps=1)
    with pytest.raises(ValueError):
        IoLimit(("8:0",), read_bps=-1)
    assert not IoLimit((), read_bps=MB).active and not IoLimit(("8:0",)).active
    assert IoLimit(("8:0",), write_iops=1).active


def test_limits_take_their_io_rates_from_the_environment(monkeypatch, caplog):
    for name in IO_ENV:
        monkeypatch.delenv(name, raising=False)
    defaults = Limits()
    assert (defaults.io_read_mbps, defaults.io_write_mbps, defaults.io_read_iops, defaults.io_write_iops) == (
        50,
        20,
        2000,
        1000,
    )
    monkeypatch.setenv("SANDBOX_IO_READ_MBPS", "12")
    monkeypatch.setenv("SANDBOX_IO_WRITE_MBPS", "")  # empty: off
    monkeypatch.setenv("SANDBOX_IO_READ_IOPS", "0")  # 0: off
    monkeypatch.setenv("SANDBOX_IO_WRITE_IOPS", " 300 ")
    limits = Limits()
    assert (limits.io_read_mbps, limits.io_write_mbps, limits.io_read_iops, limits.io_write_iops) == (12, 0, 0, 300)
    # Unusable values keep the default on (never silently unlimited), and say so once.
    monkeypatch.setenv("SANDBOX_IO_READ_MBPS", "fast")
    monkeypatch.setenv("SANDBOX_IO_WRITE_MBPS", "-5")
    with caplog.at_level(logging.WARNING, logger="workers.sandbox.limits"):
        limits = Limits()
        Limits()
    assert (limits.io_read_mbps, limits.io_write_mbps) == (50, 20)
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("SANDBOX_IO_READ_MBPS='fast'" in w for w in warnings) == 1, warnings
    assert sum("SANDBOX_IO_WRITE_MBPS='-5'" in w for w in warnings) == 1, warnings
    # A challenge's own value wins over the host's, as for every other limit.
    assert Limits(io_read_mbps=5).io_read_mbps == 5


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    """A fake sysfs (sda with sda1, nvme0n1 with p2, dm-0, an empty loop0) and mountinfo; paths' devices are
    whatever ``fake_host.dev`` says (missing ones do not exist)."""
    sys_root = tmp_path / "sys"
    devices, by_number, block = sys_root / "devices", sys_root / "dev" / "block", sys_root / "block"
    for directory in (devices, by_number, block):
        directory.mkdir(parents=True)

    def disk(name: str, number: str, size: int, partitions: dict[str, str]) -> None:
        path = devices / name
        path.mkdir()
        (path / "dev").write_text(number + "\n")
        (path / "size").write_text(f"{size}\n")
        (block / name).symlink_to(path)
        (by_number / number).symlink_to(path)
        for part, part_number in partitions.items():
            (path / part).mkdir()
            (path / part / "dev").write_text(part_number + "\n")
            (path / part / "partition").write_text("1\n")
            (by_number / part_number).symlink_to(path / part)

    disk("sda", "8:0", 1000, {"sda1": "8:1"})
    disk("nvme0n1", "259:0", 2000, {"nvme0n1p2": "259:2"})
    disk("dm-0", "253:0", 500, {})
    disk("loop0", "7:0", 0, {})  # an unused loop device: nothing lives on it

    host = SimpleNamespace(dev={}, nodes={}, mounts=[])
    host.write_mounts = lambda: (tmp_path / "mountinfo").write_text("\n".join(host.mounts) + "\n")
    host.write_mounts()

    def st_dev(path: str) -> int:
        if path not in host.dev:
            raise FileNotFoundError(path)
        return host.dev[path]

    monkeypatch.setattr(cgroup, "_SYS_DEV_BLOCK", str(by_number))
    monkeypatch.setattr(cgroup, "_SYS_BLOCK", str(block))
    monkeypatch.setattr(cgroup, "_MOUNTINFO", str(tmp_path / "mountinfo"))
    monkeypatch.setattr(cgroup, "_st_dev", st_dev)
    monkeypatch.setattr(cgroup, "_block_node", lambda path: host.nodes.get(path))
    return host


def test_a_partition_is_throttled_on_its_disk_and_dm_on_itself(fake_host):
    fake_host.dev = {"/usr": os.makedev(8, 1), "/opt/venv": os.makedev(253, 0)}
    found = io_devices(["/usr", "/opt/venv", "/usr", "/gone-missing"])
    # The kernel refuses a throttle on a partition (ENODEV): 8:1 must become its disk, 8:0.
    assert found.devices == {"8:0": "sda", "253:0": "dm-0"}
    assert found.problems == [] and found.notes == []


def test_memory_filesystems_need_nothing_and_btrfs_names_its_source(fake_host):
    fake_host.dev = {"/tmp/x": os.makedev(0, 40), "/srv/runtime": os.makedev(0, 50)}
    fake_host.nodes = {"/dev/nvme0n1p2": os.makedev(259, 2)}
    fake_host.mounts = [
        "40 1 0:40 / /tmp rw - tmpfs tmpfs rw,size=64k",
        "50 1 0:50 / /srv rw - btrfs /dev/nvme0n1p2 rw,subvol=/runtime",
    ]
    fake_host.write_mounts()
    found = io_devices(["/tmp/x", "/srv/runtime"])
    assert found.devices == {"259:0": "nvme0n1"} and found.problems == []


def test_an_overlay_with_visible_layers_is_throttled_on_their_disks(fake_host, tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    fake_host.dev = {"/": os.makedev(0, 60), str(lower): os.makedev(8, 1), str(upper): os.makedev(259, 2)}
    fake_host.mounts = [f"60 1 0:60 / / rw - overlay overlay rw,lowerdir={lower},upperdir={upper},workdir=/w"]
    fake_host.write_mounts()
    found = io_devices(["/"])
    assert found.devices == {"8:0": "sda", "259:0": "nvme0n1"} and found.notes == [] and found.problems == []


def test_a_container_overlay_throttles_every_disk_and_says_so(fake_host):
    # Docker's layers are host paths, invisible inside the container: the disk beneath cannot be told.
    fake_host.dev = {"/usr": os.makedev(0, 61)}
    fake_host.mounts = [
        "61 1 0:61 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,"
        "upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work"
    ]
    fake_host.write_mounts()
    found = io_devices(["/usr"])
    assert found.devices == {"253:0": "dm-0", "259:0": "nvme0n1", "8:0": "sda"}  # not the empty loop0
    assert len(found.notes) == 1 and "overlay" in found.notes[0] and "every disk" in found.notes[0]
    assert found.problems == []


def test_a_network_filesystem_is_a_problem_an_operator_can_act_on(fake_host):
    fake_host.dev = {"/usr": os.makedev(8, 1), "/opt/python": os.makedev(0, 70)}
    fake_host.mounts = ["70 1 0:70 / /opt rw - nfs4 files:/export rw,vers=4.2"]
    fake_host.write_mounts()
    found = io_devices(["/usr", "/opt/python"])
    assert found.devices == {"8:0": "sda"}
    assert len(found.problems) == 1
    assert "/opt/python" in found.problems[0] and "nfs4" in found.problems[0] and "local disk" in found.problems[0]


def test_the_sandboxs_own_files_resolve_to_whole_disks_of_this_host():
    """Here, not on a fake: every device named is a whole disk that /sys/block lists, and the disk behind
    site-packages (the runtime a learner can read) is among them."""
    if not os.path.isdir("/sys/block"):
        pytest.skip("no /sys/block here: the block devices cannot be listed")
    whole = {Path(entry, "dev").read_text().strip() for entry in Path("/sys/block").iterdir()}
    found = io_devices(runner._bind_sources())
    assert set(found.devices) <= whole, (found.devices, whole)
    site = os.stat(sysconfig.get_paths()["purelib"]).st_dev
    if os.major(site) == 0:
        pytest.skip("site-packages is on an anonymous device here (overlay, btrfs); the fakes above cover it")
    own = f"{os.major(site)}:{os.minor(site)}"
    parent = Path(f"/sys/dev/block/{own}")
    disk = Path(parent.resolve().parent, "dev").read_text().strip() if (parent / "partition").exists() else own
    assert disk in found.devices, (disk, found.devices)


# --------------------------------------------------------------------------- cgroup v2 and v1, on fake trees

V2_FILES = {
    "cgroup.procs": "",
    "cgroup.subtree_control": "",
    "cgroup.type": "domain\n",
    "cgroup.kill": "",
    "memory.max": "",
    "memory.swap.max": "",
    "memory.oom.group": "",
    "memory.peak": "0\n",
    "memory.events": "oom 0\noom_kill 0\n",
    "pids.max": "",
    "cpu.max": "",
}


@pytest.fixture
def fake_v2(tmp_path, monkeypatch):
    """A cgroup2 tree whose /svc is delegated (memory, pids, cpu, and io when the test says so); the worker
    sits in /svc/worker. Writes append, as each write to io.max adds one device's rule in the kernel."""
    root = tmp_path / "cg"

    def make(path: Path, controllers: str) -> None:
        path.mkdir()
        for name, text in V2_FILES.items():
            (path / name).write_text(text)
        if "io" in controllers.split():
            (path / "io.max").write_text("")
        (path / "cgroup.controllers").write_text(controllers)

    def fake_mkdir(path: str) -> None:
        parent = Path(path).parent
        make(Path(path), " ".join(t.lstrip("+") for t in (parent / "cgroup.subtree_control").read_text().split()))

    def append(path: str, value: str) -> None:
        if not os.path.exists(path):
            raise FileNotFoundError(path)  # cgroup files are never created by a write
        with open(path, "a") as fh:
            fh.write(value.rstrip("\n") + "\n")

    def build(svc_controllers: str) -> Path:
        make(root, "cpuset cpu io memory pids")
        (root / "cgroup.type").unlink()
        make(root / "svc", svc_controllers)
        make(root / "svc" / "worker", "")
        (root / "svc" / "worker" / "cgroup.procs").write_text("4242\n")
        return root

    (tmp_path / "mountinfo").write_text(f"30 25 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
    (tmp_path / "self_cgroup").write_text("0::/svc/worker\n")
    monkeypatch.setattr(cgroup, "_MOUNTINFO", str(tmp_path / "mountinfo"))
    monkeypatch.setattr(cgroup, "_SELF_CGROUP", str(tmp_path / "self_cgroup"))
    monkeypatch.setattr(cgroup, "_mkdir_cgroup", fake_mkdir)
    monkeypatch.setattr(cgroup, "_rmdir_cgroup", shutil.rmtree)
    monkeypatch.setattr(cgroup, "_write", append)
    monkeypatch.setenv(cgroup.PARENT_ENV, "/svc")
    return build


def test_v2_enables_io_and_writes_one_io_max_line_per_device(fake_v2):
    root = fake_v2("cpu io memory pids")
    limit = IoLimit(("8:0", "259:0"), read_bps=8 * MB, write_bps=4 * MB, read_iops=500, write_iops=0)
    group = RunCgroup.create("run-io-1", memory_bytes=300 * MB, max_processes=24, cpu_cores=1, io=limit)
    leaf = root / "svc" / cgroup.V2_GROUP / "run-io-1"
    assert (root / "svc" / "cgroup.subtree_control").read_text().split() == ["+memory", "+pids", "+cpu", "+io"]
    assert (leaf / "io.max").read_text().splitlines() == [
        "8:0 rbps=8388608 wbps=4194304 riops=500 wiops=max",
        "259:0 rbps=8388608 wbps=4194304 riops=500 wiops=max",
    ]
    held = {"read_bps": 8 * MB, "write_bps": 4 * MB, "read_iops": 500, "write_iops": 0}
    assert group.io_limits() == {"8:0": held, "259:0": held}
    group.remove()
    assert not leaf.exists()


def test_v2_without_io_delegated_says_what_to_do_and_keeps_the_other_limits(fake_v2):
    root = fake_v2("cpu memory pids")
    assert cgroup_support() is None  # memory, pids and cpu are enough for a per-run group
    reason = io_support(IoLimit(("8:0",), read_bps=MB))
    assert reason is not None and "io is not delegated" in reason and "subtree_control" in reason, reason
    subtree = root / "svc" / cgroup.V2_GROUP  # made by cgroup_support's probe, shared, never removed
    assert [p.name for p in subtree.iterdir() if p.is_dir()] == []  # the I/O probe was refused before any mkdir
    group = RunCgroup.create("run-io-2", memory_bytes=64 * MB, max_processes=4, cpu_cores=1)
    assert group.io_limits() == {} and (Path(group.paths[0]) / "memory.max").read_text() == f"{64 * MB}\n"
    group.remove()


def test_v1_without_a_blkio_mount_is_reported(tmp_path, monkeypatch):
    lines = []
    for index, controller in enumerate(("memory", "pids", "cpu,cpuacct")):
        (tmp_path / controller).mkdir()
        lines.append(f"{40 + index} 25 0:{40 + index} / {tmp_path / controller} rw - cgroup cgroup rw,{controller}")
    (tmp_path / "mountinfo").write_text("\n".join(lines) + "\n")
    (tmp_path / "self_cgroup").write_text("4:memory:/\n2:cpu,cpuacct:/\n8:pids:/\n")
    monkeypatch.setattr(cgroup, "_MOUNTINFO", str(tmp_path / "mountinfo"))
    monkeypatch.setattr(cgroup, "_SELF_CGROUP", str(tmp_path / "self_cgroup"))
    monkeypatch.delenv(cgroup.PARENT_ENV, raising=False)
    reason = io_support(IoLimit(("8:0",), read_bps=MB))
    assert reason is not None and "no cgroup v1 blkio hierarchy is mounted" in reason, reason
    assert [p.name for p in (tmp_path / "memory").iterdir()] == []  # nothing made for a run that cannot have it


# --------------------------------------------------------------------------- the start-up report


@pytest.fixture
def fresh_report(monkeypatch):
    """The runner's I/O verdict as a worker that has just started sees it: nothing probed or logged yet."""
    monkeypatch.setattr(runner, "_io_works", False)
    monkeypatch.setattr(runner, "_io_reports_logged", set())
    monkeypatch.setattr(runner, "cgroup_problem", lambda: None)
    monkeypatch.setattr(runner, "_bwrap_path", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(runner, "filter_program", lambda: b"")
    monkeypatch.setattr(runner, "_hidden_data_problem", lambda device: None, raising=False)  # another layer's


def test_the_report_says_why_io_is_not_limited(fresh_report, monkeypatch, caplog):
    monkeypatch.setattr(runner, "io_support", lambda limit: "no cgroup v1 blkio hierarchy is mounted (mount -t ...)")
    monkeypatch.setattr(runner, "io_devices", lambda paths: cgroup.IoDevices(devices={"254:0": "vda"}))
    with caplog.at_level(logging.WARNING, logger="workers.sandbox.runner"):
        problems = runner.support_problems()
        runner.support_problems()
    assert problems == ["the disk I/O of runs is not limited: no cgroup v1 blkio hierarchy is mounted (mount -t ...)"]
    assert sum("blkio" in r.getMessage() for r in caplog.records) == 1  # once, however often it is asked


def test_the_report_says_when_io_limits_are_turned_off(fresh_report, monkeypatch):
    for name in IO_ENV:
        monkeypatch.setenv(name, "0")
    problems = runner.support_problems()
    assert len(problems) == 1 and "turned off" in problems[0] and all(name in problems[0] for name in IO_ENV)


def test_the_report_names_the_rates_and_devices_when_io_is_limited(fresh_report, monkeypatch, caplog):
    monkeypatch.setattr(runner, "io_support", lambda limit: None)
    monkeypatch.setattr(runner, "io_devices", lambda paths: cgroup.IoDevices(devices={"254:0": "vda"}))
    for name in IO_ENV:
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.INFO, logger="workers.sandbox.runner"):
        assert runner.support_problems() == []
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "50 MB/s and 2000 IOPS read, 20 MB/s and 1000 IOPS write" in said and "254:0 (vda)" in said, said


# --------------------------------------------------------------------------- the real kernel


def _skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:  # REQUIRE_SERVICES=1 or CI=true: every layer must be there
        pytest.fail(f"required in CI, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def real_io() -> tuple[str, ...]:
    """The disks behind the sandbox's files, on a host whose run cgroups take I/O limits (else skip)."""
    if (reason := cgroup_support()) is not None:
        _skip_or_fail(f"per-run cgroups are unavailable: {reason}")
    devices = tuple(io_devices(runner._bind_sources()).devices)
    if not devices:
        _skip_or_fail("the sandbox's files are on no block device here")
    if (reason := io_support(IoLimit(devices, read_bps=50 * MB))) is not None:
        _skip_or_fail(f"runs' disk I/O cannot be limited here: {reason}")
    return devices


@contextlib.contextmanager
def io_group(tag: str, limit: IoLimit):
    group = RunCgroup.create(
        f"test-{os.getpid()}-{tag}-{os.urandom(4).hex()}", memory_bytes=512 * MB, max_processes=8, cpu_cores=1, io=limit
    )
    try:
        yield group
    finally:
        group.remove()


def bytes_done(group: RunCgroup, device: str) -> tuple[int, int]:
    """(read, written) bytes the kernel charged to the group on ``device``: v1 io_service_bytes, v2 io.stat."""
    leaf = group.paths[-1] if group.version == 2 else next(p for p in group.paths if "blkio" in p)
    if group.version == 2:
        for line in Path(leaf, "io.stat").read_text().splitlines():
            name, *pairs = line.split()
            if name == device:
                keys = dict(pair.split("=") for pair in pairs)
                return int(keys.get("rbytes", 0)), int(keys.get("wbytes", 0))
        return 0, 0
    counts = {}
    for line in Path(leaf, "blkio.throttle.io_service_bytes").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == device:
            counts[parts[1]] = int(parts[2])
    return counts.get("Read", 0), counts.get("Write", 0)


def runtime_file() -> str:
    """The biggest file of the runtime the sandbox sees: what a hostile run would read."""
    lib = Path(sysconfig.get_paths()["purelib"], "torch", "lib")
    return str(max(lib.glob("*.so*"), key=lambda p: p.stat().st_size))


# Reads (or writes) TOTAL bytes in CHUNK-sized O_DIRECT requests and prints "IO <bytes> <seconds>".
DIRECT_IO = """
import mmap, os, sys, time
path, mode, total, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT needs
if mode == "read":
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    span = (os.fstat(fd).st_size - chunk) // chunk * chunk
else:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    span = total
done, start = 0, time.monotonic()
while done < total:
    offset = done % span
    done += os.preadv(fd, [buf], offset) if mode == "read" else os.pwritev(fd, [buf], offset)
print("IO", done, time.monotonic() - start, flush=True)
"""


def direct_io(group: RunCgroup, path: str, mode: str, total: int, chunk: int) -> tuple[int, float]:
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", DIRECT_IO, path, mode, str(total), str(chunk)],
        preexec_fn=group.attach_self,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    _, done, seconds = proc.stdout.split()
    return int(done), float(seconds)


def device_of(path: str) -> str:
    number = os.stat(path).st_dev
    return cgroup._whole_disk(os.major(number), os.minor(number))[0]


@pytest.mark.sandbox
def test_the_group_holds_the_limits_it_was_given(real_io):
    limit = IoLimit(real_io, read_bps=8 * MB, write_bps=4 * MB, read_iops=300, write_iops=200)
    with io_group("held", limit) as group:
        wanted = {"read_bps": 8 * MB, "write_bps": 4 * MB, "read_iops": 300, "write_iops": 200}
        assert group.io_limits() == dict.fromkeys(real_io, wanted)
        if group.version == 1:  # the raw interface, as an operator would cat it
            blkio = next(p for p in group.paths if "blkio" in p)
            assert f"{real_io[0]} {8 * MB}" in Path(blkio, "blkio.throttle.read_bps_device").read_text().splitlines()


@pytest.mark.sandbox
def test_a_device_the_kernel_refuses_fails_the_group_and_leaves_nothing(real_io):
    major, minor = real_io[0].split(":")
    absent = next(
        f"{major}:{m}"
        for m in range(int(minor) + 4000, int(minor) + 5000)
        if not os.path.exists(f"/sys/dev/block/{major}:{m}")
    )
    name = f"test-{os.getpid()}-refused-{os.urandom(4).hex()}"
    with pytest.raises(CgroupUnavailable, match=f"block device {absent}"):
        RunCgroup.create(name, memory_bytes=64 * MB, max_processes=4, cpu_cores=1, io=IoLimit((absent,), read_bps=MB))
    with io_group("after", IoLimit(real_io, read_bps=MB)) as group:  # the same parents, to look for leftovers
        parents = {os.path.dirname(path) for path in group.paths}
    assert [p for p in parents if os.path.exists(os.path.join(p, name))] == []


@pytest.mark.sandbox
@pytest.mark.timeout(60)
def test_direct_reads_are_throttled_in_bytes(real_io):
    path = runtime_file()
    device = device_of(path)
    assert device in real_io
    rate, total = 8 * MB, 16 * MB
    with io_group("rbps", IoLimit(real_io, read_bps=rate)) as group:
        done, seconds = direct_io(group, path, "read", total, MB)
        read, _ = bytes_done(group, device)
    assert done == total
    assert read >= total, (read, total)  # the reads reached the disk, charged to this group
    # At most 3x the limit (16 MB in >= 0.67 s); unthrottled, this disk gives hundreds of MB/s.
    assert done / seconds < 3 * rate, f"{done / seconds / MB:.0f} MB/s read through an {rate // MB} MB/s limit"


@pytest.mark.sandbox
@pytest.mark.timeout(60)
def test_direct_reads_are_throttled_in_operations(real_io):
    path = runtime_file()
    iops, count = 200, 400
    with io_group("riops", IoLimit(real_io, read_iops=iops)) as group:
        done, seconds = direct_io(group, path, "read", count * 4096, 4096)
    assert done == count * 4096
    assert (count / seconds) < 3 * iops, f"{count / seconds:.0f} reads/s through a {iops} IOPS limit"


@pytest.mark.sandbox
@pytest.mark.timeout(60)
def test_direct_writes_are_throttled(real_io, tmp_path):
    # No sandbox path is a disk it can write (its /tmp is a tmpfs); the limit is there for any bind that
    # ever is, and is checked here with a plain process in the group.
    if os.major(os.stat(tmp_path).st_dev) == 0:
        pytest.skip(f"{tmp_path} is on a memory or anonymous filesystem here: no disk to write to")
    device = device_of(str(tmp_path))
    if device not in real_io:
        pytest.skip(f"{tmp_path} is on {device}, not a disk behind the sandbox's files")
    rate, total = 4 * MB, 8 * MB
    with io_group("wbps", IoLimit(real_io, write_bps=rate)) as group:
        done, seconds = direct_io(group, str(tmp_path / "direct.bin"), "write", total, MB)
        _, written = bytes_done(group, device)
    assert done == total and written >= total, (done, written)
    assert done / seconds < 3 * rate, f"{done / seconds / MB:.0f} MB/s written through a {rate // MB} MB/s limit"


# --------------------------------------------------------------------------- the sandbox, cold and pooled

HOSTILE_READ = """
import mmap
path = '/opt/site-packages/torch/lib/FILE'
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 20)
span = ((os.fstat(fd).st_size >> 20) - 1) << 20
done, start = 0, time.monotonic()
while done < TOTAL:
    done += os.preadv(fd, [buf], done % span)
print('IO', done, time.monotonic() - start, flush=True)
return x.sum()
"""


@pytest.fixture
def run_groups(monkeypatch):
    """What each sandbox run's cgroup held and counted, read just before the run's group is removed."""
    seen: list[dict] = []
    remove = RunCgroup.remove

    def remembering_remove(self, timeout: float = 5.0) -> None:
        if self.name.startswith("run-") and not self._removed:
            device = device_of(runtime_file())
            with contextlib.suppress(OSError, StopIteration):
                seen.append({"limits": self.io_limits(), "device": device, "bytes": bytes_done(self, device)})
        remove(self, timeout)

    monkeypatch.setattr(RunCgroup, "remove", remembering_remove)
    return seen


@pytest.mark.sandbox
@pytest.mark.usefixtures("both_sandbox_paths")
@pytest.mark.timeout(120)
def test_hostile_direct_reads_of_the_runtime_are_throttled(real_io, run_groups):
    rate, total = 8, 16 * MB
    limits = Limits(**{**HOSTILE_LIMITS.__dict__, "wall_seconds": 30, "cpu_seconds": 20, "io_read_mbps": rate})
    body = HOSTILE_READ.replace("FILE", Path(runtime_file()).name).replace("TOTAL", str(total))
    result = run_hostile(body, limits=limits)
    assert result.status == "ok", (result.status, result.message, result.stderr_tail[-2000:])
    _, done, seconds = next(line for line in result.stdout_tail.splitlines() if line.startswith("IO ")).split()
    assert int(done) == total
    assert int(done) / float(seconds) < 3 * rate * MB, f"{int(done) / float(seconds) / MB:.0f} MB/s inside"
    run = run_groups[-1]  # the learner's (a self-test run, on a process's first use, comes before it)
    device = run["device"]
    assert run["limits"][device] == {
        "read_bps": rate * MB,
        "write_bps": limits.io_write_mbps * MB,
        "read_iops": limits.io_read_iops,
        "write_iops": limits.io_write_iops,
    }
    assert run["bytes"][0] >= total  # the learner's reads were charged to its run's group, not the worker's


@pytest.mark.sandbox
@pytest.mark.usefixtures("both_sandbox_paths")
def test_every_run_gets_the_hosts_default_io_limits(real_io, run_groups):
    result = run_hostile("return x.sum()")
    assert result.status == "ok", (result.status, result.message)
    assert run_groups
    limits = HOSTILE_LIMITS
    wanted = {
        "read_bps": limits.io_read_mbps * MB,
        "write_bps": limits.io_write_mbps * MB,
        "read_iops": limits.io_read_iops,
        "write_iops": limits.io_write_iops,
    }
    assert any(wanted.values()), "SANDBOX_IO_* turn the limit off in this environment"
    assert all(run["limits"] == dict.fromkeys(real_io, wanted) for run in run_groups), run_groups
