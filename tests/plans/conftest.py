from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import api_client_for

# The worked plan of drop 14, as a complete worksheet: every number is the lesson's.
COMPLETE_PLAN = {
    "title": "SQL assistant, v1",
    "task": "Turn an analyst's question and the relevant schema into one SQL query.",
    "teacher_model": "Hosted frontier model, 2026-11",
    "candidate_student": "Open-weight 7B code model",
    "student_fallback": "Open-weight 14B code model",
    "mode": "trace",
    "mode_reason": "The output is text that needs a few steps, and the API returns only text.",
    "regime": "offline",
    "regime_notes": "Off-policy: teacher outputs generated once, up front.",
    "inputs_source": "Logged analyst questions; queries run against a staging copy, failures dropped.",
    "inputs_count": 25000,
    "eval_set": "400 held-out questions with results checked by analysts.",
    "pass_threshold_percent": Decimal("95"),
    "pass_threshold_notes": "Answer within one second.",
    "capacity_gap_notes": "7B may lose on multi-join questions; the 14B fallback is costed too.",
    "behaviour_transfer_notes": "The teacher invents column names; execution against the schema catches them.",
    "terms_of_use_notes": "Review the hosted teacher's terms before generating any data.",
    "terms_of_use_resolved": False,
    "monthly_requests": 600000,
    "teacher_cost_per_request": Decimal("0.0105"),
    "teacher_latency_ms": 4000,
    "student_cost_per_request": Decimal("0.0024"),
    "student_latency_ms": 900,
    "teacher_outputs_n": 50000,
    "teacher_cost_per_output": Decimal("0.0105"),
    "training_cost": Decimal("48"),
}


def as_json(fields: dict) -> dict:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in fields.items()}


@pytest.fixture
def complete_plan_fields() -> dict:
    return dict(COMPLETE_PLAN)


@pytest.fixture
def other_learner(make_user):
    return make_user("mallory")


@pytest.fixture
def other_api(other_learner):
    return api_client_for(other_learner)


@pytest.fixture
def plan_path(db):
    """A two-drop path ending in the worksheet drop; independent of the content files being written."""
    from drops.models import Drop
    from learnpath.models import Path, Phase

    path = Path.objects.create(slug="plan-workshop-test", title="Plan workshop test path")
    phase = Phase.objects.create(path=path, slug="plan", title="Distill one of your real prompts", position=1)
    Drop.objects.create(path=path, phase=phase, slug="intro", title="Intro", position=1, body_html="<p>Hi</p>")
    Drop.objects.create(
        path=path,
        phase=phase,
        slug="plan-your-distillation",
        title="Plan your distillation",
        position=2,
        estimated_minutes=25,
        body_html="<p>Fill in the worksheet below.</p>",
    )
    return path


@pytest.fixture
def enrolled(learner, plan_path):
    from learnpath import services

    services.enrollment_create(user=learner, path=plan_path)
    return plan_path


@pytest.fixture
def plan_drop(plan_path):
    from drops.models import Drop

    return Drop.objects.get(path=plan_path, slug="plan-your-distillation")


@pytest.fixture
def plan_drop_available(learner, enrolled, plan_drop):
    """The learner has reached the last drop: it unlocked an hour ago and is not yet completed."""
    from datetime import timedelta

    from django.utils import timezone

    from drops.models import DropProgress

    return DropProgress.objects.create(user=learner, drop=plan_drop, unlocked_at=timezone.now() - timedelta(hours=1))
