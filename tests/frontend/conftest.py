"""Shared helpers for the front-end tests (JavaScript run under Node)."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KD_MATH = os.path.join(REPO_ROOT, "drops", "static", "drops", "kd-math.js")

# Appended to a script run with cases: `await readCases()` returns the JSON sent on stdin.
READ_CASES = r"""
async function readCases() {
  let input = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) input += chunk;
  return JSON.parse(input);
}
"""


@pytest.fixture(scope="session")
def node_binary():
    """Path of `node`; skips when it is missing, except in CI where that is a failure."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("`node` is not on PATH, and CI=true: front-end tests must run in CI")
        pytest.skip("`node` (Node.js >= 18) is not on PATH; install it to run the front-end tests")
    return node


@pytest.fixture(scope="session")
def kd_math_node(node_binary, tmp_path_factory):
    """Runs an ES module that imports from "./kd-math.mjs" (a copy of drops/static/drops/kd-math.js) under Node.

    ``run(source)`` returns what the script printed; ``run(source, cases)`` sends ``cases`` as JSON on
    stdin, where the script reads them with ``await readCases()``, and returns its output parsed as JSON.
    A script that exits with an error fails the test with Node's stderr.
    """
    workdir = tmp_path_factory.mktemp("kd_math")
    # A .mjs copy is ESM under every Node version, without relying on a
    # package.json "type" next to the static file or on module detection.
    shutil.copyfile(KD_MATH, workdir / "kd-math.mjs")

    def run(source: str, cases=None, *, timeout: int = 60):
        if cases is not None:
            source += READ_CASES
        script = workdir / f"script-{hashlib.sha256(source.encode()).hexdigest()[:16]}.mjs"
        script.write_text(source)
        proc = subprocess.run(
            [node_binary, str(script)],
            input=None if cases is None else json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=workdir,
        )
        assert proc.returncode == 0, f"node failed:\n{proc.stderr}"
        return proc.stdout if cases is None else json.loads(proc.stdout)

    return run
