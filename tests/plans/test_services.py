"""plan_create / plan_update / plan_delete, the Markdown export, and completing the last drop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from drops.models import DropProgress
from plans import selectors, services
from plans.models import DistillationPlan


def _progress(learner, drop) -> DropProgress | None:
    return DropProgress.objects.filter(user=learner, drop=drop).first()


@pytest.mark.django_db
def test_services_are_keyword_only(learner):
    with pytest.raises(TypeError):
        services.plan_create(learner, title="x")  # type: ignore[misc]


@pytest.mark.django_db
def test_create_update_delete(learner):
    plan = services.plan_create(owner=learner, title="  Router  ")
    assert plan.title == "Router"
    assert not plan.is_complete and plan.completed_at is None

    plan = services.plan_update(plan=plan, mode=DistillationPlan.Mode.OUTPUT, inputs_count=1200)
    assert (plan.mode, plan.inputs_count) == ("output", 1200)

    services.plan_delete(plan=plan)
    assert not DistillationPlan.objects.exists()


@pytest.mark.django_db
def test_invalid_values_raise_and_save_nothing(learner):
    with pytest.raises(ValidationError) as error:
        services.plan_create(owner=learner, title="t", mode="telepathy")
    assert "mode" in error.value.message_dict
    assert not DistillationPlan.objects.exists()


@pytest.mark.django_db
def test_owner_and_dates_are_not_editable(learner, other_learner):
    plan = services.plan_create(owner=learner, title="Mine")
    with pytest.raises(TypeError):
        services.plan_update(plan=plan, owner=other_learner)
    with pytest.raises(TypeError):
        services.plan_update(plan=plan, completed_at=timezone.now())


@pytest.mark.django_db
def test_plans_for_lists_only_the_owners(learner, other_learner):
    from django.contrib.auth.models import AnonymousUser

    services.plan_create(owner=learner, title="A")
    services.plan_create(owner=other_learner, title="B")
    assert [p.title for p in selectors.plans_for(user=learner)] == ["A"]
    assert list(selectors.plans_for(user=AnonymousUser())) == []


# ---------- completing the last drop ----------


@pytest.mark.django_db
def test_first_complete_save_completes_the_plan_drop(learner, plan_drop, plan_drop_available, complete_plan_fields):
    fields = dict(complete_plan_fields)
    terms = fields.pop("terms_of_use_notes")
    plan = services.plan_create(owner=learner, **fields)
    assert plan.missing_fields == ["terms_of_use_notes"]
    assert _progress(learner, plan_drop).completed_at is None  # a draft completes nothing

    now = timezone.now()
    plan = services.plan_update(plan=plan, terms_of_use_notes=terms, now=now)
    assert plan.is_complete and plan.completed_at == now
    assert _progress(learner, plan_drop).completed_at == now

    later = now + timedelta(hours=1)
    plan = services.plan_update(plan=plan, title="Renamed", now=later)
    assert plan.completed_at == now  # first completion is kept
    assert _progress(learner, plan_drop).completed_at == now


@pytest.mark.django_db
def test_a_locked_plan_drop_is_left_alone(learner, enrolled, plan_drop, complete_plan_fields):
    plan = services.plan_create(owner=learner, **complete_plan_fields)
    assert plan.is_complete
    assert _progress(learner, plan_drop) is None

    DropProgress.objects.create(user=learner, drop=plan_drop, unlocked_at=timezone.now() + timedelta(hours=5))
    services.plan_update(plan=plan, title="Again")
    assert _progress(learner, plan_drop).completed_at is None


@pytest.mark.django_db
def test_completing_later_when_the_drop_unlocks(learner, enrolled, plan_drop, complete_plan_fields):
    """A plan written early (from /plans/new/) still completes the drop once the learner reaches it."""
    plan = services.plan_create(owner=learner, **complete_plan_fields)
    DropProgress.objects.create(user=learner, drop=plan_drop, unlocked_at=timezone.now() - timedelta(minutes=1))
    services.plan_update(plan=plan, task=plan.task + " (revised)")
    assert _progress(learner, plan_drop).completed_at is not None


@pytest.mark.django_db
def test_not_enrolled_learner_completes_nothing(learner, plan_drop, complete_plan_fields):
    # Progress without an enrolment (e.g. after leaving the path) does not count.
    DropProgress.objects.create(user=learner, drop=plan_drop, unlocked_at=timezone.now() - timedelta(hours=1))
    services.plan_create(owner=learner, **complete_plan_fields)
    assert _progress(learner, plan_drop).completed_at is None


@pytest.mark.django_db
def test_another_learners_plan_does_not_complete_my_drop(
    learner, other_learner, plan_drop, plan_drop_available, complete_plan_fields
):
    services.plan_create(owner=other_learner, **complete_plan_fields)
    assert _progress(learner, plan_drop).completed_at is None


# ---------- Markdown ----------


@pytest.mark.django_db
def test_markdown_export_has_every_section_and_the_cost_case(learner, complete_plan_fields):
    plan = services.plan_create(owner=learner, **complete_plan_fields)
    text = selectors.plan_export_markdown(plan=plan)
    assert text.startswith("# Distillation plan: SQL assistant, v1\n")
    assert "_Status: complete" in text
    for heading in [
        "## 1. Prompt or task",
        "## 2. Current teacher",
        "## 3. Candidate student",
        "## 4. Distillation mode",
        "## 5. Offline or online",
        "## 6. Training inputs",
        "## 7. Evaluation",
        "## 8. Risks",
        "## Cost case",
    ]:
        assert heading in text
    assert "**Trace distillation.** The output is text that needs a few steps" in text
    assert "**Offline (frozen teacher, data generated up front).** Off-policy" in text
    assert "- **How many:** 25,000" in text
    assert "- **Pass threshold:** 95% of the teacher's score" in text
    assert "- **Cost per request:** $0.0105" in text
    assert "- **Latency:** 4,000 ms" in text
    assert "- [ ] **Terms of use**: Review the hosted teacher's terms" in text
    assert "| Teacher cost per month | $6,300.00 |" in text
    assert "| Student serving cost per month | $1,440.00 |" in text
    assert "| Monthly saving | $4,860.00 |" in text
    assert "| One-off cost (50,000 teacher outputs + training) | $573.00 |" in text
    assert "| Break-even volume | 70,741 requests |" in text
    assert "| Break-even time | about 3.5 days |" in text
    assert "| Latency saved per request | 3,100 ms |" in text
    assert "**Breaks even after 70,741 requests, about 3.5 days at this volume.**" in text


@pytest.mark.django_db
def test_markdown_export_of_a_draft_marks_gaps(learner):
    plan = services.plan_create(owner=learner, title="Half way", capacity_gap_resolved=True)
    # A title from before the shared Unicode rule refused line breaks: the export still keeps it on one line.
    DistillationPlan.objects.filter(pk=plan.pk).update(title="Half\nway")
    plan.refresh_from_db()
    text = selectors.plan_export_markdown(plan=plan)
    assert text.startswith("# Distillation plan: Half way\n")
    assert "_Status: draft" in text
    assert "_Not filled in yet._" in text
    assert "- [x] **Capacity gap**" in text
    assert "Never breaks even" in text
    assert selectors.plan_export_filename(plan=plan) == "distillation-plan-half-way.md"
