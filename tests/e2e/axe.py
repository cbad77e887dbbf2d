"""axe-core in the browser tests: ``assert_accessible(page)`` injects the pinned axe-core (``make test`` installs it
into node_modules/ with ``npm ci``) into the page and fails on any violation of impact serious or critical.

The project's own pages are checked whole. Third-party embeds (the API docs' Swagger UI, if a test ever visits it)
are excluded by their selectors in ``THIRD_PARTY``, so a finding there never hides one of ours."""

from __future__ import annotations

from pathlib import Path

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
THIRD_PARTY = ["#swagger-ui", "redoc"]


def axe_violations(page) -> list[dict]:
    """axe's violations of impact serious or critical on the page as it is now, in both its DOM and its styles (so
    colour contrast is measured in the colour scheme the page is shown in)."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: `make node-deps` (part of `make test`) installs axe-core"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """async (exclude) => {
            const context = {include: [document], exclude: exclude.map((selector) => [selector])};
            const results = await axe.run(context, {resultTypes: ['violations']});
            return results.violations;
        }""",
        THIRD_PARTY,
    )
    return [violation for violation in results if violation["impact"] in FAILING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page, name: str = "") -> None:
    """No violation of impact serious or critical on the page as it is shown now."""
    violations = axe_violations(page)
    assert not violations, f"{name or page.url} has accessibility violations:\n{describe(violations)}"
