"""scikit-learn's data stays outside the sandbox whatever the installation layout, and a self-test proves it.

The leak this guards against: in the Docker image the packages live under ``/usr/local/lib/python3.11/
site-packages``, which the sandbox also sees through its ``/usr`` bind and, as the runtime's prefix, through
``/opt/python``; a mask over ``/opt/site-packages/sklearn/datasets/data`` alone left the digits, with their
labels, readable at the other two. The image's layout is rebuilt here without Docker: a stand-in prefix in a
temporary directory, bound the ways the image's is seen (``runner.sandbox_binds`` is the one list of binds,
and the masks are computed from it). Runs go both ways a learner's can: cold, and forked from a zygote that
was started with that layout.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
import torch

from tests.fixtures.sandbox import active_pool
from workers.sandbox import Case, Limits, SandboxPool, SandboxUnavailable, TensorResult, run_cases, runner, selftest
from workers.sandbox.layout import Bind, HiddenPath, hidden_paths, mask_targets

LIMITS = Limits(cpu_seconds=10, wall_seconds=15)
DIGITS = b"digits stand-in: every image with its label\n" + bytes(range(256)) * 4
IMAGE = b"\xff\xd8\xff image stand-in\n" + bytes(range(255, -1, -1)) * 4
DESCR = b".. _digits_dataset:\n\nstand-in description, kept in a share directory and linked in\n"
SITE = "lib/python3.11/site-packages"


# --------------------------------------------------------------------------- the mapping, without a sandbox


def _tree(root, relative: str, content: bytes = b"x") -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def test_the_images_three_views_of_its_site_packages_are_all_masked(tmp_path):
    usr = tmp_path / "usr"
    data = usr / "local" / SITE / "sklearn/datasets/data"
    data.mkdir(parents=True)
    binds = [
        Bind("--ro-bind", str(usr), "/usr"),
        Bind("--ro-bind", str(usr / "local"), "/opt/python"),  # sys.base_prefix is /usr/local in the image
        Bind("--ro-bind", str(usr / "local" / SITE), "/opt/site-packages"),
    ]
    masks = mask_targets(binds, [HiddenPath(str(data), True, "sklearn/datasets/data")])
    assert [(m.path, m.is_dir) for m in masks] == [
        ("/opt/python/lib/python3.11/site-packages/sklearn/datasets/data", True),
        ("/opt/site-packages/sklearn/datasets/data", True),
        ("/usr/local/lib/python3.11/site-packages/sklearn/datasets/data", True),
    ]


def test_a_system_pythons_dist_packages_are_masked_under_usr_and_the_runtime(tmp_path):
    usr = tmp_path / "usr"
    data = usr / "lib/python3/dist-packages/sklearn/datasets/data"
    data.mkdir(parents=True)
    (usr / "local/lib/python3.11/dist-packages").mkdir(parents=True)
    binds = [
        Bind("--ro-bind", str(usr), "/usr"),
        Bind("--ro-bind", str(usr), "/opt/python"),  # Debian's python3: sys.base_prefix is /usr
        Bind("--ro-bind", str(usr / "local/lib/python3.11/dist-packages"), "/opt/site-packages"),
    ]
    masks = mask_targets(binds, [HiddenPath(str(data), True, "sklearn/datasets/data")])
    assert [m.path for m in masks] == [
        "/opt/python/lib/python3/dist-packages/sklearn/datasets/data",
        "/usr/lib/python3/dist-packages/sklearn/datasets/data",
    ]


def test_masks_follow_symlinked_sources_skip_shadowed_places_and_never_nest(tmp_path):
    prefix = tmp_path / "prefix"
    data = prefix / SITE / "sklearn/datasets/data"
    data.mkdir(parents=True)
    (tmp_path / "lib-link").symlink_to(prefix / "lib")
    other = tmp_path / "other"
    other.mkdir()
    linked = _tree(tmp_path, "share/digits.csv.gz")
    binds = [
        Bind("--ro-bind", str(tmp_path / "lib-link"), "/opt/lib"),  # bwrap binds what the link leads to
        Bind("--ro-bind", str(prefix), "/opt/prefix"),
        Bind("--ro-bind", str(other), f"/opt/prefix/{SITE}"),  # a later bind over the place: not this one's
        Bind("--ro-bind", str(data), "/opt/data-itself"),  # a bind of the data itself: all of it covered
        Bind("--ro-bind", str(tmp_path / "share"), "/opt/share"),
    ]
    hidden = [
        HiddenPath(str(data), True, "sklearn/datasets/data"),
        HiddenPath(str(data / "sub"), True, "sklearn/datasets/data/sub"),
        HiddenPath(linked, False, "sklearn/datasets/data/digits.csv.gz"),
    ]
    masks = mask_targets(binds, hidden)
    assert [(m.path, m.is_dir) for m in masks] == [
        ("/opt/data-itself", True),
        ("/opt/lib/python3.11/site-packages/sklearn/datasets/data", True),
        ("/opt/share/digits.csv.gz", False),
    ]


def test_every_installation_is_found_by_the_import_system_and_links_out_are_followed(tmp_path):
    usr = tmp_path / "usr"
    for site_dir in ("lib/python3/dist-packages", f"local/{SITE}"):
        _tree(usr, f"{site_dir}/sklearn/__init__.py")
        _tree(usr, f"{site_dir}/sklearn/datasets/data/iris.csv")
    shared = _tree(usr, "share/sklearn-data/digits.csv.gz", DIGITS)
    (usr / "local" / SITE / "sklearn/datasets/data/digits.csv.gz").symlink_to(shared)
    (usr / "local" / SITE / "sklearn/datasets/images").mkdir()
    found = {(h.path, h.is_dir) for h in hidden_paths([Bind("--ro-bind", str(usr), "/usr")])}
    expected = {
        (str(usr / "lib/python3/dist-packages/sklearn/datasets/data"), True),
        (str(usr / "local" / SITE / "sklearn/datasets/data"), True),
        (str(usr / "local" / SITE / "sklearn/datasets/images"), True),
        (shared, False),
    }
    assert expected <= found
    # This worker's own scikit-learn is always among them, wherever it is installed.
    import sklearn

    own = os.path.realpath(os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data"))
    assert (own, True) in found


# --------------------------------------------------------------------------- the image's layout, in a sandbox

sandbox = pytest.mark.sandbox
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="pooled runs need a root worker")

# Where the stand-in data appears inside, written out by hand (not computed by the code under test).
HIDDEN_INSIDE = [
    f"{view}/sklearn/datasets/{name}"
    for view in (
        f"/usr/local/{SITE}",  # the image's /usr bind
        f"/opt/image-python/{SITE}",  # the runtime prefix, as /opt/python
        "/opt/image-site-packages",  # the packages, as /opt/site-packages
        "/opt/image-lib/python3.11/site-packages",  # through a bind whose source is a symlink
    )
    for name in ("data/digits.csv.gz", "images/china.jpg", "descr/digits.rst")
] + ["/opt/image-share/image-docs/digits.rst"]  # the linked-in file, where it really lives
CONTROLS_INSIDE = [
    f"/usr/local/{SITE}/sklearn/datasets/_base.py",
    f"/opt/image-python/{SITE}/sklearn/datasets/_base.py",
    "/opt/image-site-packages/sklearn/datasets/_base.py",
    "/opt/image-lib/python3.11/site-packages/sklearn/datasets/_base.py",
    "/opt/image-share/image-docs/index.txt",
]


@pytest.fixture(scope="class")
def image_layout(tmp_path_factory):
    """The Docker image's layout without Docker: a stand-in prefix (``usr/local``) whose site-packages holds a
    scikit-learn with data, bound as the image's is seen, plus a bind through a symlink and a data file linked
    out into a share directory (as a distribution may do)."""
    root = tmp_path_factory.mktemp("image")
    local = root / "usr" / "local"
    package = local / SITE / "sklearn"
    _tree(package, "__init__.py", b"# a stand-in scikit-learn\n")
    _tree(package, "datasets/__init__.py")
    _tree(package, "datasets/_base.py", b"# not hidden: the control\n")
    _tree(package, "datasets/data/digits.csv.gz", DIGITS)
    _tree(package, "datasets/images/china.jpg", IMAGE)
    shared = _tree(root, "usr/share/image-docs/digits.rst", DESCR)
    _tree(root, "usr/share/image-docs/index.txt", b"not hidden either\n")
    (package / "datasets/descr").mkdir()
    (package / "datasets/descr/digits.rst").symlink_to(shared)
    (root / "lib-link").symlink_to(local / "lib")
    extra = [
        Bind("--ro-bind", str(local), "/usr/local"),
        Bind("--ro-bind", str(local), "/opt/image-python"),
        Bind("--ro-bind", str(local / SITE), "/opt/image-site-packages"),
        Bind("--ro-bind", str(root / "lib-link"), "/opt/image-lib"),
        Bind("--ro-bind", str(root / "usr" / "share"), "/opt/image-share"),
    ]
    original = runner.sandbox_binds
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "sandbox_binds", lambda device: original(device) + extra)
        yield SimpleNamespace(root=root)


@pytest.fixture(scope="class")
def image_pool(image_layout):
    """A pool whose zygote was started with the image's layout (a pooled run inherits the zygote's mounts)."""
    pool = SandboxPool(size=1)
    yield pool
    pool.close()


READ = """
import errno, json, os
def f(x):
    out = {}
    for path in PATHS:
        try:
            with open(path, "rb") as fh:
                out[path] = "read %d" % len(fh.read())
        except OSError as exc:
            out[path] = errno.errorcode.get(exc.errno, str(exc.errno))
    print("RESULT", json.dumps(out))
    return x
"""


def read_inside(paths: list[str], pool: SandboxPool | None) -> dict[str, str]:
    """Open each path as learner code: straight in a sandbox (no self-test first), cold or forked from ``pool``."""
    box = pool.sandbox(LIMITS, "cpu") if pool is not None else runner.ColdSandbox(LIMITS, "cpu")
    assert box is not None, "the pool could not fork a sandbox"
    code = f"PATHS = {json.dumps(paths)}\n{READ}"
    result = box.run(code, entrypoint="f", cases=[Case({"x": torch.ones(1)})], result=TensorResult())
    assert result.status == "ok", (result.status, result.message, result.stderr_tail[-2000:])
    assert result.pooled == (pool is not None)
    line = next(line for line in result.stdout_tail.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _host(layout, inside: str) -> str:
    """The stand-in file a control path shows (for its size)."""
    if inside.startswith("/opt/image-share/"):
        return str(layout.root / "usr/share" / inside.removeprefix("/opt/image-share/"))
    return str(layout.root / "usr/local" / SITE / "sklearn/datasets/_base.py")


@sandbox
@root_only
class TestTheDockerImagesLayout:
    """Its fixtures end with the class: the tests after it see this host's own layout."""

    @pytest.mark.parametrize("path", ["cold", "pooled"])
    def test_every_view_of_its_data_is_hidden_and_the_rest_is_there(self, image_layout, image_pool, path):
        seen = read_inside(HIDDEN_INSIDE + CONTROLS_INSIDE, image_pool if path == "pooled" else None)
        leaked = {p: seen[p] for p in HIDDEN_INSIDE if seen[p] not in ("ENOENT", "EACCES", "EPERM", "read 0")}
        assert leaked == {}
        # The binds are really there: the package's code and the share directory's other files still show.
        shown = {p: f"read {os.path.getsize(_host(image_layout, p))}" for p in CONTROLS_INSIDE}
        assert {p: seen[p] for p in CONTROLS_INSIDE} == shown

    def test_the_self_test_finds_nothing(self, image_layout, image_pool):
        assert selftest.hidden_data_visible("cpu", image_pool) == []
        labels = {f.label for f in selftest.hidden_files(hidden_paths(runner.sandbox_binds("cpu")))}
        # It looked for the stand-in files (and this worker's own data) by content.
        assert {"sklearn/datasets/data/digits.csv.gz", "sklearn/datasets/images/china.jpg"} <= labels
        assert "sklearn/datasets/descr/digits.rst" in labels

    def test_a_missing_mask_is_found_and_grading_is_refused(self, image_layout, monkeypatch):
        """The masks as they were before real paths: only /opt/site-packages. The self-test must say where the data
        shows, on both paths, and nothing may run."""
        masks = runner.sandbox_masks
        monkeypatch.setattr(
            runner, "sandbox_masks", lambda binds: [m for m in masks(binds) if m.path.startswith("/opt/site-packages/")]
        )
        pool = SandboxPool(size=1)
        try:
            findings = selftest.hidden_data_visible("cpu", pool)
            where = {(f.sandbox, f.path) for f in findings}
            for sandbox in ("cold", "pooled"):
                for view in (f"/usr/local/{SITE}", f"/opt/image-python/{SITE}", "/opt/image-site-packages"):
                    assert (sandbox, f"{view}/sklearn/datasets/data/digits.csv.gz") in where, (sandbox, view, where)
            assert {f.label for f in findings} >= {"sklearn/datasets/data/digits.csv.gz"}

            with pytest.raises(SandboxUnavailable, match="hidden data is readable"):
                run_cases("def f(x):\n    return x\n", entrypoint="f", cases=[Case({"x": torch.ones(1)})], pool=pool)
            assert any("hidden data is readable" in problem for problem in runner.support_problems())

            from challenges.kinds.grader import GradingInfrastructureError, run_drawn

            target = SimpleNamespace(entrypoint="f", limits=LIMITS)
            kind = SimpleNamespace(result=TensorResult())
            drawn = [SimpleNamespace(case=Case({"x": torch.ones(1)}))]
            with pytest.raises(GradingInfrastructureError, match="hidden data is readable"):
                run_drawn(target, kind, "def f(x):\n    return x\n", drawn, device="cpu", pool=pool)
        finally:
            pool.close()

    def test_an_installation_the_worker_does_not_know_is_found_by_the_import_system(self, image_layout, monkeypatch):
        """Another version's copy has other bytes: the probe's import view reports any readable data file."""
        masks = runner.sandbox_masks
        monkeypatch.setattr(
            runner, "sandbox_masks", lambda binds: [m for m in masks(binds) if "/opt/image-site-packages" not in m.path]
        )
        monkeypatch.setattr(selftest, "hidden_files", lambda hidden: [])  # no content known on the trusted side
        outcome = selftest.run_probe("cpu")
        how = {f.path: (f.how, f.label) for f in outcome.findings}
        assert how["/opt/image-site-packages/sklearn/datasets/data/digits.csv.gz"] == (
            "import",
            "sklearn/datasets/data/digits.csv.gz",
        )
        assert "/opt/image-site-packages/sklearn/datasets/_base.py" not in how  # the package's code is not data


@sandbox
def test_this_hosts_data_is_hidden_and_was_looked_for():
    binds = runner.sandbox_binds("cpu")
    labels = {f.label for f in selftest.hidden_files(hidden_paths(binds))}
    assert "sklearn/datasets/data/digits.csv.gz" in labels  # the worker's own scikit-learn has its data
    assert selftest.hidden_data_visible("cpu", active_pool()) == []
