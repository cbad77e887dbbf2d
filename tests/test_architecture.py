"""The services and selectors import one another in one direction only (issue 20).

Reads never import writes: no ``selectors`` module imports a ``services`` module. The modules both sides share
(FSRS scheduling, streak rules, the learner's profile, the hooks between apps) import neither. And the graph of
imports among all of them, the ones inside functions included, has no cycle: a function-level import is still a
dependency, not a way around one. Checked on the source with ``ast``, so nothing is imported to find out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ("drops.scheduling", "drops.streaks", "learnpath.profiles", "learnpath.signals")


def _packages() -> set[str]:
    return {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"} and not path.parent.name.startswith(".")
    }


def _layer_modules() -> dict[str, Path]:
    """Every app's services and selectors, and the modules they share, by dotted name."""
    packages = _packages()
    found = {
        f"{path.parent.name}.{path.stem}": path
        for pattern in ("*/services.py", "*/selectors.py")
        for path in ROOT.glob(pattern)
        if path.parent.name in packages
    }
    for name in SHARED:
        path = ROOT / (name.replace(".", "/") + ".py")
        if path.exists():  # a missing one fails test_the_graph_covers_every_app, not every test
            found[name] = path
    return found


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` imports, anywhere in it (module level, in functions, in classes), as dotted names.

    ``from a import b`` counts as both ``a`` and ``a.b`` (b may be a module); relative imports are resolved
    against ``module``.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Which of the layer modules each layer module imports."""
    modules = _layer_modules()
    return {
        name: imported_modules(path.read_text(), name) & (modules.keys() - {name}) for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in done:
            return None
        visiting.append(name)
        for target in sorted(graph.get(name, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def test_the_walker_sees_imports_inside_functions():
    source = "import a.b\nfrom c import d\ndef f():\n    from drops.services import drop_complete\n"
    found = imported_modules(source, "x.y")
    assert {"a.b", "c", "c.d", "drops.services", "drops.services.drop_complete"} <= found
    assert imported_modules("from .services import f\n", "plans.views") >= {"plans.services"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_covers_every_app():
    graph = import_graph()
    for name in ("drops.services", "drops.selectors", "certificates.services", "certificates.selectors"):
        assert name in graph
    for name in ("plans.services", "challenges.services", "learnpath.services", *SHARED):
        assert name in graph
    assert "drops.scheduling" in graph["drops.selectors"]  # the graph is not empty by mistake


def test_selectors_never_import_services():
    wrong = {
        (name, target)
        for name, targets in import_graph().items()
        if name.endswith(".selectors")
        for target in targets
        if target.endswith(".services")
    }
    assert not wrong, f"reads import writes: {sorted(wrong)}"


def test_shared_modules_import_neither_services_nor_selectors():
    wrong = {
        (name, target)
        for name, targets in import_graph().items()
        if name in SHARED
        for target in targets
        if target.endswith((".services", ".selectors"))
    }
    assert not wrong, f"shared modules must stay below both sides: {sorted(wrong)}"


def test_services_and_selectors_import_no_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_only_certificates_imports_certificates_services():
    """Other apps say that progress changed (learnpath.signals); the certificates app listens."""
    wrong = {
        name
        for name, targets in import_graph().items()
        if not name.startswith("certificates.") and any(t.startswith("certificates.") for t in targets)
    }
    assert not wrong, f"import certificates instead of sending learner_progress_changed: {sorted(wrong)}"


def test_certificates_listen_to_the_progress_hook(monkeypatch):
    """The hook reaches the certificates app's check, with what the sender said (connected in its ready())."""
    from certificates import receivers
    from learnpath.signals import learner_progress_changed

    checks = []
    monkeypatch.setattr(receivers, "certificate_check_on_commit", lambda **kwargs: checks.append(kwargs))
    learner_progress_changed.send(sender=None, user_id=7, path_id=3)
    learner_progress_changed.send(sender=None, user_id=7, challenge_id=5)
    assert checks == [
        {"user_id": 7, "path_id": 3, "challenge_id": None},
        {"user_id": 7, "path_id": None, "challenge_id": 5},
    ]
