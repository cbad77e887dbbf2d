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
    """A hook, a worked example, a pitfall and a try-it step in every drop."""
    for drop in spec.drops:
        headings = " ".join(re.findall(r"^## (.+)$", drop.body, flags=re.M)).lower()
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
