"""Shared helpers for the front-end tests (JavaScript run under Node)."""

import os
import shutil

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def node_binary():
    """Path of `node`; skips when it is missing, except in CI where that is a failure."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("`node` is not on PATH, and CI=true: front-end tests must run in CI")
        pytest.skip("`node` (Node.js >= 18) is not on PATH; install it to run the front-end tests")
    return node
