"""loadcontent: idempotent upsert, a report of what changed, and `--check` errors as file:line: message."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from drops.models import Drop, DropProgress, RecallCard
from learnpath.content.loader import check_content, load_content
from learnpath.models import FAQEntry, Phase
from learnpath.models import Path as LearningPath

PATH_YAML = """\
slug: tiny
title: A tiny path
summary: Two phases, three drops.
phases:
  - slug: first
    title: The first phase
    drops:
      - slug: alpha
        title: Alpha
        summary: The first drop.
      - slug: beta
        title: Beta
        summary: The second drop.
  - slug: second
    title: The second phase
    drops:
      - slug: gamma
        title: Gamma
        summary: The third drop.
faq:
  - slug: why
    question: Why?
    answer: Because **reasons**.
"""

ALPHA = """\
---
slug: alpha
minutes: 5
cards:
  - key: one
    kind: recall
    prompt: What is one?
    answer: The first number.
    explanation: Counting starts there.
  - key: pick
    kind: choice
    prompt: Pick b.
    choices: [a, b, c]
    answer: b
  - key: half
    kind: numeric
    prompt: Softmax of [0, 0] - the first probability?
    answer: 0.5
    tolerance: 0.01
numbers:
  - quote: "0.50"
    expr: "softmax([0, 0])[0]"
---
## Start here

The first probability is 0.50. See [the next drop](drop:beta).

[[demo:temperature]]
"""

SIMPLE = """\
---
slug: {slug}
minutes: 6
cards:
  - key: c
    kind: recall
    prompt: Say {slug}.
    answer: "{slug}"
---
## {slug}

Body of {slug}.
"""


def write_tree(root: Path, *, path_yaml: str = PATH_YAML, alpha: str = ALPHA, extra: dict | None = None) -> Path:
    directory = root / "paths" / "tiny"
    (directory / "drops").mkdir(parents=True, exist_ok=True)
    (directory / "path.yaml").write_text(path_yaml)
    (directory / "drops" / "01-alpha.md").write_text(alpha)
    (directory / "drops" / "02-beta.md").write_text(SIMPLE.format(slug="beta"))
    (directory / "drops" / "03-gamma.md").write_text(SIMPLE.format(slug="gamma"))
    for name, text in (extra or {}).items():
        (directory / "drops" / name).write_text(text)
    return root


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path)


def messages(root: Path) -> list[str]:
    return [str(problem) for problem in check_content(root)]


def test_valid_tree_has_no_problems(tree):
    assert messages(tree) == []


@pytest.mark.django_db
def test_load_creates_everything_and_renders(tree):
    report = load_content(tree)
    assert report.counts["created"] == 1 + 2 + 3 + 5 + 1  # path, phases, drops, cards, faq
    path = LearningPath.objects.get(slug="tiny")
    assert [p.title for p in Phase.objects.filter(path=path)] == ["The first phase", "The second phase"]
    drops = list(Drop.objects.filter(path=path).order_by("position"))
    assert [(d.slug, d.position, d.phase.slug) for d in drops] == [
        ("alpha", 1, "first"),
        ("beta", 2, "first"),
        ("gamma", 3, "second"),
    ]
    alpha = drops[0]
    assert alpha.estimated_minutes == 5
    assert f'href="/drops/{drops[1].pk}/"' in alpha.body_html
    assert 'data-demo="temperature"' in alpha.body_html
    assert alpha.sections == [{"id": "start-here", "title": "Start here"}]
    card = RecallCard.objects.get(drop=alpha, key="pick")
    assert (card.kind, card.choices, card.answer) == ("choice", ["a", "b", "c"], "b")
    numeric = RecallCard.objects.get(drop=alpha, key="half")
    assert (numeric.numeric_answer, numeric.tolerance) == (0.5, 0.01)
    assert FAQEntry.objects.get(path=path).answer_html == "<p>Because <strong>reasons</strong>.</p>"


@pytest.mark.django_db
def test_second_load_changes_nothing(tree):
    load_content(tree)
    before = {d.pk: (d.body_html, d.position) for d in Drop.objects.all()}
    report = load_content(tree)
    assert report.counts["created"] == 0
    assert report.counts["updated"] == 0
    assert report.counts["unchanged"] == 12
    assert report.lines == []
    assert {d.pk: (d.body_html, d.position) for d in Drop.objects.all()} == before


@pytest.mark.django_db
def test_reload_updates_in_place_and_never_touches_progress(tree, learner):
    load_content(tree)
    alpha = Drop.objects.get(slug="alpha")
    progress = DropProgress.objects.create(user=learner, drop=alpha, unlocked_at="2026-01-01T00:00:00Z")
    changed = ALPHA.replace("minutes: 5", "minutes: 7").replace(
        "  - key: one\n    kind: recall\n    prompt: What is one?\n    answer: The first number.\n"
        "    explanation: Counting starts there.\n",
        "",
    )
    write_tree(tree, alpha=changed)
    report = load_content(tree)
    assert any("updated drop alpha (estimated_minutes" in line for line in report.lines)
    assert any("retired card alpha/one" in line for line in report.lines)
    assert Drop.objects.get(pk=alpha.pk).estimated_minutes == 7
    assert RecallCard.objects.get(drop=alpha, key="one").is_active is False
    progress.refresh_from_db()
    assert progress.drop_id == alpha.pk


@pytest.mark.django_db
def test_reordering_drops_keeps_ids(tree):
    load_content(tree)
    ids = dict(Drop.objects.values_list("slug", "pk"))
    swapped = PATH_YAML.replace(
        "      - slug: alpha\n        title: Alpha\n        summary: The first drop.\n"
        "      - slug: beta\n        title: Beta\n        summary: The second drop.\n",
        "      - slug: beta\n        title: Beta\n        summary: The second drop.\n"
        "      - slug: alpha\n        title: Alpha\n        summary: The first drop.\n",
    )
    write_tree(tree, path_yaml=swapped)
    load_content(tree)
    assert dict(Drop.objects.values_list("slug", "pk")) == ids
    assert list(Drop.objects.order_by("position").values_list("slug", flat=True)) == ["beta", "alpha", "gamma"]


def replace_in(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


CHECK_CASES = {
    "unknown key in path": (
        {"path_yaml": replace_in(PATH_YAML, "summary: Two", "colour: red\nsummary: Two")},
        "paths/tiny/path.yaml:3: unknown key 'colour' in the path",
    ),
    "missing phase title": (
        {"path_yaml": replace_in(PATH_YAML, "    title: The second phase\n", "")},
        "paths/tiny/path.yaml:14: a phase is missing 'title'",
    ),
    "duplicate drop slug": (
        {"path_yaml": replace_in(PATH_YAML, "slug: gamma", "slug: alpha")},
        "paths/tiny/path.yaml:17: duplicate drop slug 'alpha' (first at line 8)",
    ),
    "duplicate phase slug": (
        {"path_yaml": replace_in(PATH_YAML, "slug: second", "slug: first")},
        "paths/tiny/path.yaml:14: duplicate phase slug 'first'",
    ),
    "drop without a file": (
        {
            "path_yaml": replace_in(
                PATH_YAML,
                "        summary: The third drop.\n",
                "        summary: The third drop.\n      - slug: delta\n        title: D\n        summary: D.\n",
            )
        },
        "paths/tiny/path.yaml:20: drop 'delta' has no file in drops/ with 'slug: delta'",
    ),
    "unknown key in front matter": (
        {"alpha": replace_in(ALPHA, "minutes: 5", "minutes: 5\nauthor: me")},
        "paths/tiny/drops/01-alpha.md:4: unknown key 'author' in the drop's front matter",
    ),
    "missing minutes": (
        {"alpha": replace_in(ALPHA, "minutes: 5\n", "")},
        "the drop's front matter is missing 'minutes'",
    ),
    "card without an answer": (
        {"alpha": replace_in(ALPHA, "    answer: The first number.\n", "")},
        "paths/tiny/drops/01-alpha.md:5: a recall card is missing 'answer'",
    ),
    "choice answer not among choices": (
        {"alpha": replace_in(ALPHA, "    answer: b\n", "    answer: d\n")},
        "paths/tiny/drops/01-alpha.md:14: the answer 'd' is not among the choices",
    ),
    "duplicate card key": (
        {"alpha": replace_in(ALPHA, "  - key: pick", "  - key: one")},
        "paths/tiny/drops/01-alpha.md:10: duplicate card key 'one'",
    ),
    "unknown card kind": (
        {"alpha": replace_in(ALPHA, "kind: recall", "kind: essay")},
        "card kind must be one of recall, choice, numeric, not 'essay'",
    ),
    "numeric answer not a number": (
        {"alpha": replace_in(ALPHA, "    answer: 0.5\n", "    answer: half\n")},
        "paths/tiny/drops/01-alpha.md:18: a numeric card's answer must be a number",
    ),
    "negative tolerance": (
        {"alpha": replace_in(ALPHA, "tolerance: 0.01", "tolerance: -1")},
        "paths/tiny/drops/01-alpha.md:19: tolerance must be a number of zero or more",
    ),
    "link to a missing drop": (
        {"alpha": replace_in(ALPHA, "(drop:beta)", "(drop:omega)")},
        "paths/tiny/drops/01-alpha.md:26: link to missing drop 'drop:omega'",
    ),
    "unknown demo": (
        {"alpha": replace_in(ALPHA, "[[demo:temperature]]", "[[demo:fireworks]]")},
        "paths/tiny/drops/01-alpha.md:28: unknown demo 'fireworks'",
    ),
    "quoted number disagrees": (
        {"alpha": replace_in(ALPHA, 'expr: "softmax([0, 0])[0]"', 'expr: "softmax([1, 0])[0]"')},
        "paths/tiny/drops/01-alpha.md:21: quoted '0.50' but softmax([1, 0])[0] = 0.731059",
    ),
    "quote missing from body": (
        {"alpha": replace_in(ALPHA, "The first probability is 0.50.", "The first probability is one half.")},
        "paths/tiny/drops/01-alpha.md:21: quoted number '0.50' does not appear in the body",
    ),
    "empty body": (
        {"alpha": ALPHA.split("## Start here")[0]},
        "paths/tiny/drops/01-alpha.md:24: the drop has no body",
    ),
    "invalid YAML": (
        {"alpha": replace_in(ALPHA, "minutes: 5", "minutes: [5")},
        "paths/tiny/drops/01-alpha.md:",
    ),
    "file for a drop not in path.yaml": (
        {"extra": {"04-omega.md": SIMPLE.format(slug="omega")}},
        "paths/tiny/drops/04-omega.md:2: drop 'omega' is not listed in path.yaml",
    ),
    "two files for one drop": (
        {"extra": {"04-beta-again.md": SIMPLE.format(slug="beta")}},
        "duplicate drop slug 'beta', also in 02-beta.md",
    ),
    "duplicate FAQ slug": (
        {"path_yaml": PATH_YAML + "  - slug: why\n    question: Again?\n    answer: Yes.\n"},
        "paths/tiny/path.yaml:24: duplicate FAQ slug 'why'",
    ),
    "FAQ without an answer": (
        {"path_yaml": replace_in(PATH_YAML, "    answer: Because **reasons**.\n", "")},
        "paths/tiny/path.yaml:21: an FAQ entry is missing 'answer'",
    ),
    "drop longer than its minutes": (
        {"alpha": replace_in(ALPHA, "minutes: 5", "minutes: 2")},
        "paths/tiny/drops/01-alpha.md:3: measures 3.0 minutes but states 2: text 0.0 min (11 words), 1 demo 1.5, "
        "3 cards 1.5. Shorten the core, or move depth into '## Go deeper'",
    ),
    "daily drop stating more than 8 minutes": (
        {"alpha": replace_in(ALPHA, "minutes: 5", "minutes: 9")},
        "paths/tiny/drops/01-alpha.md:3: states 9 minutes; a drop in phases 1-3 states at most 8",
    ),
    "Go deeper before another section": (
        {"alpha": replace_in(ALPHA, "## Start here", "## Go deeper\n\nMore.\n\n## Start here")},
        "paths/tiny/drops/01-alpha.md:24: '## Go deeper' must be the last section",
    ),
}


@pytest.mark.parametrize("case", CHECK_CASES, ids=list(CHECK_CASES))
def test_check_reports_file_line_message(tmp_path, case):
    changes, expected = CHECK_CASES[case]
    root = write_tree(tmp_path, **changes)
    found = messages(root)
    assert any(expected in message for message in found), found


@pytest.mark.django_db
def test_check_command_exits_1_and_writes_nothing(tmp_path, capsys):
    root = write_tree(tmp_path, alpha=replace_in(ALPHA, "    answer: b\n", "    answer: d\n"))
    with pytest.raises(CommandError) as raised:
        call_command("loadcontent", "--check", "--root", str(root))
    assert raised.value.returncode == 1
    assert "01-alpha.md:14: the answer 'd' is not among the choices" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("loadcontent", "--root", str(root))
    assert not LearningPath.objects.exists()


@pytest.mark.django_db
def test_command_prints_what_it_did(tree, capsys):
    call_command("loadcontent", "--root", str(tree))
    first = capsys.readouterr().out
    assert "created drop alpha" in first
    assert "12 created, 0 updated, 0 unchanged" in first
    call_command("loadcontent", "--root", str(tree))
    assert "0 created, 0 updated, 12 unchanged" in capsys.readouterr().out


def test_sanitizer_strips_script_and_handlers(tmp_path):
    from learnpath.content.render import render_markdown

    html = render_markdown(
        textwrap.dedent("""\
        <script>alert(1)</script>
        <img src=x onerror=alert(1)>
        [click](javascript:alert(1))
        """)
    )
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_code_blocks_and_tables_are_named_regions_that_tab_reaches():
    """They scroll sideways on a phone, so keyboard users must be able to focus them (axe's
    scrollable-region-focusable); the attributes are the renderer's, never the content's."""
    from learnpath.content.render import render_markdown

    html = render_markdown(
        textwrap.dedent("""        ```python
        loss = F.kl_div(student, teacher, reduction="batchmean")
        ```

        | T | loss |
        | - | ---- |
        | 2 | 0.4  |

        <pre tabindex="5" onfocus="alert(1)">raw</pre>
        """)
    )
    assert html.count('<pre tabindex="0" role="region" aria-label="Code">') == 2
    assert '<div class="table-scroll" tabindex="0" role="region" aria-label="Table"><table>' in html
    assert html.count("</table></div>") == 1
    assert 'tabindex="5"' not in html and "onfocus" not in html


@pytest.mark.django_db
def test_removed_drop_keeps_history_and_moves_after_listed_ones(tree, learner):
    load_content(tree)
    beta = Drop.objects.get(slug="beta")
    DropProgress.objects.create(user=learner, drop=beta, unlocked_at="2026-01-01T00:00:00Z")
    without_beta = PATH_YAML.replace("      - slug: beta\n        title: Beta\n        summary: The second drop.\n", "")
    write_tree(tree, path_yaml=without_beta, alpha=ALPHA.replace("(drop:beta)", "(drop:gamma)"))
    (tree / "paths" / "tiny" / "drops" / "02-beta.md").unlink()
    report = load_content(tree)
    assert any("kept drop beta" in line for line in report.lines)
    assert list(Drop.objects.order_by("position").values_list("slug", "position")) == [
        ("alpha", 1),
        ("gamma", 2),
        ("beta", 3),
    ]
    assert DropProgress.objects.filter(drop=beta, user=learner).exists()


# -- issue 21: measured minutes, Go deeper, and decks that follow the content -----------------------------------

LONG_DEEPER = "\n## Go deeper\n\n### Try it in a shell\n\n" + "Derivation words. " * 600 + "\n"


def test_check_command_prints_each_drops_measured_minutes(tree, capsys):
    call_command("loadcontent", "--check", "--root", str(tree))
    out = capsys.readouterr().out
    assert "tiny: measured minutes of each drop (core text, demos, cards) / stated" in out
    assert "   1 alpha  3.0 / 5  min  text 0.0 min (11 words), 1 demo 1.5, 3 cards 1.5" in out
    assert "   3 gamma  0.5 / 6  min" in out
    assert "OVER" not in out


def test_the_last_phase_may_state_more_than_8_minutes(tmp_path):
    """Phases 1-3 are a drop a day; a later phase (the path's worksheet) may take longer."""
    four_phases = PATH_YAML.replace(
        "faq:",
        "".join(
            f"  - slug: phase-{n}\n    title: Phase {n}\n    drops:\n      - slug: drop-{n}\n        title: D{n}\n"
            f"        summary: D{n}.\n"
            for n in (3, 4)
        )
        + "faq:",
    )
    extra = {
        f"0{n + 1}-drop-{n}.md": SIMPLE.format(slug=f"drop-{n}").replace("minutes: 6", "minutes: 20") for n in (3, 4)
    }
    root = write_tree(tmp_path, path_yaml=four_phases, extra=extra)
    found = messages(root)
    assert [m.split("/paths/", 1)[1] for m in found if "states 20 minutes" in m] == [
        "tiny/drops/04-drop-3.md:3: states 20 minutes; a drop in phases 1-3 states at most 8"
    ]


@pytest.mark.django_db
def test_go_deeper_folds_away_and_is_not_counted(tree):
    write_tree(tree, alpha=ALPHA + LONG_DEEPER)
    assert messages(tree) == []  # 600 more words, and still within its 5 minutes
    load_content(tree)
    alpha = Drop.objects.get(slug="alpha")
    assert alpha.reading_estimate["minutes"] == 3.0
    assert alpha.reading_estimate["deeper_words"] == 1205  # "Try it in a shell" too: headings are read
    assert '<details class="go-deeper" data-go-deeper><summary><h2 id="go-deeper">Go deeper</h2>' in alpha.body_html
    assert alpha.body_html.endswith("</details>")
    assert alpha.sections[-1] == {"id": "go-deeper", "title": "Go deeper"}


@pytest.mark.django_db
def test_drop_page_and_api_show_the_measured_minutes(tree, learner):
    from learnpath.services import enrollment_create
    from tests.conftest import api_client_for

    write_tree(tree, alpha=ALPHA + LONG_DEEPER)
    load_content(tree)
    enrollment_create(user=learner, path=LearningPath.objects.get(slug="tiny"))
    alpha = Drop.objects.get(slug="alpha")
    api = api_client_for(learner)
    estimate = api.get(f"/api/drops/{alpha.pk}/").json()["reading_estimate"]
    assert estimate == {
        "minutes": 3.0, "reading_minutes": 0.0, "demo_minutes": 1.5, "card_minutes": 1.5,
        "demos": 1, "cards": 3, "deeper_words": 1205,
    }  # fmt: skip
    from django.test import Client

    client = Client()
    client.force_login(learner)
    page = client.get(f"/drops/{alpha.pk}/").content.decode()
    assert "about 5 min" in page
    assert (
        "Measured: 3.0 min, that is 0.0 reading, 1.5 trying the demo and 1.5 answering its 3 recall cards once. "
        "The Go deeper section at the end is optional and not counted." in page
    )


def _complete(api, drop) -> None:
    response = api.post(f"/api/drops/{drop.pk}/complete/", {"seconds_spent": 60}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_reload_keeps_review_history_and_adds_new_cards_to_decks(tree, make_user):
    """A card taken out is retired with its history; a new card joins the decks of learners past its drop, one
    drop's new cards a day; a retired card brought back returns with its schedule."""
    from drops.models import ReviewCard, ReviewLog
    from drops.selectors import reviewable_cards
    from learnpath.services import enrollment_create
    from tests.conftest import api_client_for

    load_content(tree)
    path = LearningPath.objects.get(slug="tiny")
    alpha, beta = Drop.objects.get(slug="alpha"), Drop.objects.get(slug="beta")
    ada, bo = make_user("ada"), make_user("bo")
    for user in (ada, bo):
        enrollment_create(user=user, path=path)
    ada_api = api_client_for(ada)
    _complete(ada_api, alpha)
    _complete(ada_api, beta)  # reading ahead
    one = ReviewCard.objects.get(user=ada, card__drop=alpha, card__key="one")
    rated = ada_api.post(f"/api/reviews/{one.pk}/", {"rating": 3}, format="json")
    assert rated.status_code == 200, rated.content
    one.refresh_from_db()
    schedule = (one.state, one.stability, one.due)

    new_card = "  - key: two\n    kind: recall\n    prompt: What is two?\n    answer: One more than one.\n"
    without_one = replace_in(
        ALPHA,
        "  - key: one\n    kind: recall\n    prompt: What is one?\n    answer: The first number.\n"
        "    explanation: Counting starts there.\n",
        new_card,
    )
    write_tree(tree, alpha=without_one)
    beta_file = tree / "paths" / "tiny" / "drops" / "02-beta.md"
    beta_file.write_text(beta_file.read_text().replace("---\n## beta", new_card + "---\n## beta"))
    report = load_content(tree)
    assert "retired card alpha/one" in "\n".join(report.lines)
    assert "    added 2 review card(s) to the decks of learners who completed their drops" in report.lines

    one.refresh_from_db()
    assert (one.state, one.stability, one.due) == schedule
    assert ReviewLog.objects.filter(review_card=one).count() == 1
    assert not reviewable_cards(user=ada).filter(pk=one.pk).exists()
    joined = {c.card.drop.slug: c for c in ReviewCard.objects.filter(user=ada, card__key="two")}
    assert set(joined) == {"alpha", "beta"}
    assert joined["beta"].due - joined["alpha"].due == timedelta(days=1)  # one drop's new cards a day
    assert not ReviewCard.objects.filter(user=bo).exists()  # bo completed nothing

    write_tree(tree, alpha=ALPHA)  # "one" comes back; "two" is retired in turn
    report = load_content(tree)
    one.refresh_from_db()
    assert RecallCard.objects.get(pk=one.card_id).is_active
    assert (one.state, one.stability, one.due) == schedule
    assert "added" not in " ".join(report.lines)  # ada holds "one" already: nothing new joins
