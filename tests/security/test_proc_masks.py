"""/proc inside a sandbox, cold and pooled alike: host-wide files hidden, bwrap's read-only covers in place.

A cold run's /proc is bubblewrap's; a pooled run's is mounted afresh by the zygote's init for its new PID
namespace. Both must be masked from the one list in ``workers.sandbox.procmask``.
"""

from __future__ import annotations

import os

import pytest

from tests.fixtures.sandbox import active_pool
from tests.security.conftest import run_hostile
from workers.sandbox import procmask

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("both_sandbox_paths")]

PROBE = r"""
import errno, glob, json
def read(path):
    try:
        with open(path, 'rb') as fh:
            return 'read %d' % len(fh.read())
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
def write(path):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    try:
        os.write(fd, b'1')
        return 'written'
    except OSError as exc:
        return 'opened, write ' + errno.errorcode.get(exc.errno, str(exc.errno))
    finally:
        os.close(fd)
out = {'read': {}, 'write': {}, 'listed': {}, 'mounts': {}}
for path in ['/proc/cmdline', '/proc/key-users'] + ['/proc/pressure/' + n for n in ('cpu', 'memory', 'io', 'irq')]:
    out['read'][path] = read(path)
out['listed']['/proc/pressure'] = sorted(os.listdir('/proc/pressure')) if os.path.isdir('/proc/pressure') else None
for path in ['/proc/sys/kernel/hostname', '/proc/sys/kernel/domainname', '/proc/sys/vm/drop_caches',
             '/proc/sysrq-trigger', '/proc/pressure/cpu', '/proc/pressure/new']:
    out['write'][path] = write(path)
for line in open('/proc/self/mountinfo'):
    fields = line.split()
    out['mounts'][fields[4]] = fields[5].split(',')
print('RESULT', json.dumps(out))
return x.sum()
"""


def probe() -> dict:
    result = run_hostile(PROBE)
    assert result.status == "ok", (result.status, result.message, result.stderr_tail[-2000:])
    assert result.pooled == (active_pool() is not None)  # the path under test, not a fallback
    line = next(line for line in result.stdout_tail.splitlines() if line.startswith("RESULT "))
    import json

    return json.loads(line.removeprefix("RESULT "))


def _empty_or_unreadable(outcome: str) -> bool:
    return outcome in ("read 0", "EACCES", "ENOENT", "EPERM")


def test_host_wide_proc_files_are_hidden():
    outcome = probe()
    for path, seen in outcome["read"].items():
        assert _empty_or_unreadable(seen), (path, seen)
    assert outcome["listed"]["/proc/pressure"] in (None, [])
    for name in procmask.HIDDEN:
        target = f"/proc/{name}"
        if os.path.exists(target):  # the same kernel: it exists inside too, and must be a read-only mask
            assert "ro" in outcome["mounts"].get(target, []), (target, outcome["mounts"])


def test_proc_sys_and_friends_stay_read_only():
    outcome = probe()
    for path, seen in outcome["write"].items():
        assert seen in ("EACCES", "ENOENT", "EPERM", "EROFS"), (path, seen)
    mounts = outcome["mounts"]
    assert "ro" not in mounts["/proc"]  # the run's own /proc/self stays usable
    # bwrap covers the ones it finds writable while it sets up (irq and bus, here); the pool covers them all.
    for name in ("irq", "bus"):
        if os.path.exists(f"/proc/{name}"):
            assert "ro" in mounts.get(f"/proc/{name}", []), (name, mounts)


def test_a_pooled_run_covers_everything_bwrap_may(request):
    if request.node.callspec.params["both_sandbox_paths"] != "pooled":
        pytest.skip("bwrap decides on the cold path")
    mounts = probe()["mounts"]
    for name in procmask.READ_ONLY:
        if os.path.exists(f"/proc/{name}"):
            assert "ro" in mounts.get(f"/proc/{name}", []), (name, mounts)
