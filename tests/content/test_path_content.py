"""The Understand Model Distillation path is complete, and every number it quotes is recomputed."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from learnpath.content import numbers
from learnpath.content.files import Problems
from learnpath.content.loader import check_content
from learnpath.content.paths import parse_path

DIRECTORY = settings.CONTENT_DIR / "paths" / "model-distillation"


@pytest.fixture(scope="module")
def spec():
    problems = Problems(root=settings.CONTENT_DIR)
    parsed = parse_path(DIRECTORY, problems)
    assert not problems, [str(p) for p in problems.items]
    return parsed


def test_check_passes_on_all_content():
    assert [str(p) for p in check_content(settings.CONTENT_DIR)] == []


def test_four_phases_fourteen_drops(spec):
    assert len(spec.phases) == 4
    assert len(spec.drops) == 14
    assert [d.phase_slug for d in spec.drops].count("distill-your-prompt") == 1


def test_every_drop_has_body_minutes_and_cards(spec):
    for drop in spec.drops:
        words = len(drop.body.split())
        assert drop.body and words > 400, f"{drop.slug}: body too short ({words} words)"
        if drop.slug == "plan-your-distillation":
            assert 15 <= drop.minutes <= 30, drop.slug
        else:
            assert 5 <= drop.minutes <= 8, f"{drop.slug}: {drop.minutes} minutes"
        assert 3 <= len(drop.cards) <= 5, f"{drop.slug}: {len(drop.cards)} cards"
        for card in drop.cards:
            assert card.prompt and card.answer and card.explanation, f"{drop.slug}/{card.key} is incomplete"


def test_cards_mix_kinds(spec):
    kinds = {card.kind for drop in spec.drops for card in drop.cards}
    assert kinds == {"recall", "choice", "numeric"}


def test_drop_sections_cover_the_lesson_shape(spec):
    """A hook, a worked example, a pitfall and a try-it step (in the core or in Go deeper) in every drop."""
    for drop in spec.drops:
        headings = " ".join(re.findall(r"^###? (.+)$", drop.body, flags=re.M)).lower()
        assert "pitfall" in headings, f"{drop.slug} has no pitfall section: {headings}"
        assert "try it" in headings or drop.slug == "plan-your-distillation", f"{drop.slug}: {headings}"


def test_faq_answers_are_real(spec):
    assert len(spec.faq) >= 5
    for slug, question, answer in spec.faq:
        words = len(answer.split())
        assert question.endswith("?"), slug
        assert 80 <= words <= 200, f"FAQ {slug}: {words} words"


def test_every_quoted_number_recomputes():
    import yaml

    checked = 0
    for file in sorted((DIRECTORY / "drops").glob("*.md")):
        text = file.read_text()
        meta = yaml.safe_load(text.split("---")[1])
        for entry in meta.get("numbers") or []:
            value = numbers.evaluate(entry["expr"])
            assert numbers.quote_matches(entry["quote"], value), f"{file.name}: {entry}"
            assert entry["quote"] in text.split("---", 2)[2], f"{file.name}: {entry['quote']} not in body"
            checked += 1
    assert checked >= 100


def test_numeric_cards_are_consistent_with_their_prompts(spec):
    for drop in spec.drops:
        for card in drop.cards:
            if card.kind == "numeric":
                assert card.tolerance is not None and card.tolerance < max(abs(card.numeric_answer), 1), card.key


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("kl_logits([5, 2, 1, -2], [3, 2.5, 0.5, -1], T=1)", 0.3233),
        ("kd_soft([5, 2, 1, -2], [3, 2.5, 0.5, -1], T=4)", 0.7128),
        ("kl_logits([3, 2.5, 0.5, -1], [5, 2, 1, -2], T=1)", 0.5247),
        ("kd_loss([3, 2.5, 0.5, -1], [5, 2, 1, -2], 0, T=4, alpha=0.5)", 0.6237),
        ("kd_loss([3, 2.5, 0.5, -1], [5, 2, 1, -2], 0, T=1, alpha=0.5)", 0.4290),
        ("cross_entropy([3, 2.5, 0.5, -1], 0)", 0.5347),
        ("dpo_loss(2.0, 0.1)", 0.5981),
    ],
)
def test_numbers_module_reproduces_the_fact_sheet(expr, expected):
    assert round(numbers.evaluate(expr), 4) == expected


def test_numbers_module_agrees_with_pytorch():
    import torch
    import torch.nn.functional as F

    teacher = torch.tensor([[5.0, 2, 1, -2]], dtype=torch.float64)
    student = torch.tensor([[3.0, 2.5, 0.5, -1]], dtype=torch.float64)
    for T in (0.5, 1.0, 2.0, 4.0, 10.0):
        reference = F.kl_div(F.log_softmax(student / T, -1), F.softmax(teacher / T, -1), reduction="batchmean")
        ours = numbers.kl_logits(teacher[0].tolist(), student[0].tolist(), T)
        assert ours == pytest.approx(reference.item(), rel=1e-12)


# -- issue 12: the content's facts, cards and links ----------------------------------------------

DECIMALS = {"one": 1, "two": 2, "three": 3, "four": 4}

# Every numeric card's answer, recomputed from its inputs.
NUMERIC_CARD_ANSWERS = {
    "gap-closed": "percent(90 - 52, 90 - 40)",
    "label-bits": "log(8) / log(2)",
    "tutorial-weights": "kd_loss([3, 2.5, 0.5, -1], [5, 2, 1, -2], 0, T=4, alpha=0.25)",
    "ratio-at-t4": "exp(4 / 4)",
    "t2-gradient": "16 * kl_grad([5, 2, 1, -2], [3, 2.5, 0.5, -1], 4)[0]",
    "break-even-days": "325 / (122 - 2.40)",
    "trace-nll": "-(log(0.9) + log(0.6) + log(0.8) + log(0.3) + log(0.95) + log(0.7)) / 6",
    "dpo-check": "dpo_loss(2.0, 0.1)",
    "break-even": "573 / (0.0105 - 0.0024)",
}


def _cards(spec) -> dict:
    return {card.key: card for drop in spec.drops for card in drop.cards}


def _all_text(spec) -> str:
    parts = [drop.body for drop in spec.drops]
    parts += [f"{c.prompt} {c.answer} {' '.join(c.choices)} {c.explanation}" for d in spec.drops for c in d.cards]
    parts += [answer for _, _, answer in spec.faq]
    parts += [(DIRECTORY / "path.yaml").read_text()]
    parts += [p.read_text() for p in (settings.CONTENT_DIR / "challenges").glob("*/*.md")]
    parts += [p.read_text() for p in (settings.CONTENT_DIR / "challenges").glob("*/challenge.yaml")]
    return "\n".join(parts)


def test_numeric_cards_say_the_precision_they_expect(spec):
    """'to N decimals' means a tolerance of one unit in the N-th decimal; whole numbers say so or are counts."""
    for card in _cards(spec).values():
        if card.kind != "numeric":
            continue
        match = re.search(r"to (one|two|three|four) decimals?\b", card.prompt)
        if match:
            assert card.tolerance == pytest.approx(10 ** -DECIMALS[match[1]]), card.key
        else:
            assert card.numeric_answer == int(card.numeric_answer), card.key
            if "nearest whole" in card.prompt:
                assert card.tolerance == 1, card.key
            else:
                assert card.prompt.split(". ")[-1].startswith("How many") and card.tolerance == 0, card.key


def test_numeric_card_answers_recompute(spec):
    cards = _cards(spec)
    numeric = {key for key, card in cards.items() if card.kind == "numeric"}
    assert numeric == set(NUMERIC_CARD_ANSWERS)
    for key, expr in NUMERIC_CARD_ANSWERS.items():
        card = cards[key]
        places = DECIMALS.get((re.search(r"to (one|two|three|four) decimals?\b", card.prompt) or [None, ""])[1], 0)
        assert round(numbers.evaluate(expr), places) == pytest.approx(card.numeric_answer), key


def test_diagnosis_cards_match_the_bugs_they_name(spec):
    """The values the diagnosis cards quote are the fingerprints of the bugs they name, on the worked example."""
    t, s = [5, 2, 1, -2], [3, 2.5, 0.5, -1]
    correct = numbers.kd_soft(t, s, 4)
    cards = _cards(spec)
    # 0.1782 where 0.7128 is right: reduction='mean' (÷ classes), and no other listed bug.
    assert "0.1782" in cards["mean-factor"].prompt and "0.7128" in cards["mean-factor"].prompt
    assert round(correct / 4, 4) == 0.1782
    others = {"no T²": numbers.kl_logits(t, s, 4), "swapped": numbers.kd_soft(s, t, 4)}
    assert all(round(v, 4) != 0.1782 for v in others.values())
    # 0.0111: no T² and 'mean' together.
    assert "0.0111" in cards["phase-two-check"].prompt
    assert round(numbers.kl_logits(t, s, 4) / 4, 4) == 0.0111
    # 1.8293 for the batch of two: summed over the batch instead of averaged.
    b_t, b_s = [1, 4, 0.5, -1], [2, 1.5, 0, -0.5]
    assert "1.8293" in cards["batch-total"].prompt
    assert round(numbers.kd_soft(t, s, 4) + numbers.kd_soft(b_t, b_s, 4), 4) == 1.8293
    # 0.6594 against 0.6237: alpha 0.7, not the other named mistakes.
    assert round(numbers.kd_loss(s, t, 0, 4, 0.7), 4) == 0.6594
    for wrong_soft in (numbers.kl_logits(t, s, 4), correct / 4, numbers.kd_soft(s, t, 4)):
        assert round(0.5 * wrong_soft + 0.5 * numbers.cross_entropy(s, 0), 4) != 0.6594
    # T -> infinity: T²·KL levels off at half the mean squared difference of the centred logits.
    a = [z - sum(t) / 4 for z in t]
    b = [z - sum(s) / 4 for z in s]
    limit = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / (2 * 4)
    assert numbers.kd_soft(t, s, 1e5) == pytest.approx(limit, rel=1e-4)
    assert f"{limit:.3f}" in cards["t-to-infinity"].explanation
    # Temperature rows: dividing logits by 4 takes the fourth root of every probability ratio.
    email = [4, 2.5, 1, -1]
    ratio_1 = numbers.softmax(email)[1] / numbers.softmax(email)[3]
    ratio_4 = numbers.softmax(email, 4)[1] / numbers.softmax(email, 4)[3]
    assert ratio_4 == pytest.approx(ratio_1**0.25)
    assert (
        f"{ratio_1:.0f} times" in cards["temperature-rows"].prompt
        and f"{ratio_4:.1f}" in cards["temperature-rows"].answer
    )


def test_dpo_start_loss_card_quotes_log_2(spec):
    """Before any update π_θ = π_ref, every margin is 0 and the DPO loss is log 2 for any β (the card's value)."""
    card = _cards(spec)["start-loss-not-log2"]
    for beta in (0.01, 0.1, 0.5):
        assert round(numbers.dpo_loss(0, beta), 4) == 0.6931
    assert "0.6931" in card.prompt and "0.6931" in card.explanation


def test_digits_control_is_quoted_where_the_experiment_is(spec):
    """Drops that show the digits experiment also show the fair control: the student on all 1,257 labels."""
    metrics = numbers.digits_metrics()
    control = f"{100 * metrics['student_all_labels']['test_accuracy']:.1f}%"
    for drop in spec.drops:
        if "1,207" in drop.body:
            assert control in drop.body and "1,257" in drop.body, drop.slug
    for text in _all_text(spec).split("\n"):
        assert "had no labels" not in text and "turned unlabelled images into" not in text


def test_hosted_models_faq_is_dated_sourced_and_direct(spec):
    answer = " ".join(dict((slug, a) for slug, _, a in spec.faq)["distilling-hosted-models"].split())
    assert "not legal advice" in answer.lower()
    assert "November 2026" in answer and "secondary" in answer
    for link in (
        "https://openai.com/policies/terms-of-use",
        "https://www.anthropic.com/legal/commercial-terms",
        "https://support.claude.com/",
        "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/LICENSE",
    ):
        assert f"]({link}" in answer, link
    assert "Bottom line" in answer and "open model" in answer and "competing" in answer


def test_llama_conditions_are_stated_as_two(spec):
    """Llama 3.1 §1.b.i: the name prefix for a model trained on outputs that is distributed or made available,
    and "Built with Llama" for distributing the Llama materials; never one merged condition."""
    text = _all_text(spec)
    assert "must have a name that starts with" not in text
    for chunk in re.split(r"\n\s*\n", text):
        if "Built with Llama" in chunk:
            assert "made available" in chunk, chunk[:200]


def test_r1_data_is_described_as_the_paper_does(spec):
    text = _all_text(spec)
    assert "generated by R1" not in text and "generated with DeepSeek-R1" not in text
    for chunk in re.split(r"\n\s*\n", text):
        if "800k" in chunk and "curated" not in chunk:
            pytest.fail(f"800k without 'curated with DeepSeek-R1': {chunk[:200]}")


def test_unsourced_and_mistaken_phrases_are_gone(spec):
    text = _all_text(spec)
    for phrase in (
        "between 0.5 and 0.7 are typical",
        "goes through a softmax twice",
        "sixteen times weaker than the hard one",
        "score each one separately as UltraFeedback did",
        "keeps one bit",
        "A code challenge attached to this drop",
    ):
        assert phrase not in text, phrase


def test_each_challenge_is_linked_from_its_drop(spec):
    import yaml

    bodies = {drop.slug: drop.body for drop in spec.drops}
    for file in sorted((settings.CONTENT_DIR / "challenges").glob("*/challenge.yaml")):
        meta = yaml.safe_load(file.read_text())
        assert f"](/challenges/{meta['slug']}/)" in bodies[meta["drop"]], meta["slug"]


def test_links_to_missing_challenges_or_faq_entries_are_problems(tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(settings.CONTENT_DIR, root)
    drop = root / "paths" / "model-distillation" / "drops" / "08-walk-one-batch.md"
    text = drop.read_text()
    text = text.replace("](/challenges/train-student/)", "](/challenges/no-such-challenge/)")
    drop.write_text(text + "\nSee [the FAQ](/paths/model-distillation/#faq-no-such-entry).\n")
    problems = [str(p) for p in check_content(root)]
    assert any("missing challenge '/challenges/no-such-challenge/'" in p for p in problems), problems
    assert any("missing FAQ entry 'no-such-entry'" in p for p in problems), problems


def test_loss_statement_states_the_graders_real_tolerance():
    from challenges.kinds import loss

    def sci(value: float) -> str:  # 1e-04 -> "1e-4", as the statements write it
        return f"{value:.0e}".replace("e-0", "e-")

    for slug in ("distillation-loss", "sequence-distillation-loss"):
        statement = (settings.CONTENT_DIR / "challenges" / slug / "statement.md").read_text()
        flat = " ".join(statement.split())
        assert f"≤ {sci(loss.REL_TOL)} · |reference| + {sci(loss.ABS_TOL)}" in flat, slug
        assert f"{sci(loss.GRAD_REL_TOL)} times the reference gradient" in flat, slug
        assert "KL(teacher ‖" in flat, slug
    hints = (settings.CONTENT_DIR / "challenges" / "distillation-loss" / "challenge.yaml").read_text()
    assert "`input` as **log-probabilities**" in " ".join(hints.split())
