"""Reads for distillation plans: a learner sees only their own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.text import slugify

from plans import calculator
from plans.models import DistillationPlan


def plans_for(*, user: User) -> QuerySet[DistillationPlan]:
    """The learner's plans, most recently edited first (empty for anonymous users)."""
    if not user.is_authenticated:
        return DistillationPlan.objects.none()
    return DistillationPlan.objects.filter(owner=user)


def plan_get(*, user: User, plan_id: int) -> DistillationPlan:
    """One of the learner's plans; DistillationPlan.DoesNotExist for anyone else's, so callers answer 404."""
    return plans_for(user=user).get(pk=plan_id)


def plan_export_filename(*, plan: DistillationPlan) -> str:
    stem = slugify(plan.title)[:80] or "plan"
    return f"distillation-plan-{stem}.md"


def plan_export_markdown(*, plan: DistillationPlan) -> str:
    """The worksheet as a one-page Markdown document to hand to a colleague."""
    field = DistillationPlan._meta.get_field
    result = plan.calculator()
    money = calculator.format_money

    def text(value) -> str:
        return str(value).strip() if value not in (None, "") else "_Not filled in yet._"

    def amount(value, fmt) -> str:
        return fmt(float(value)) if value is not None else "—"

    def risk(name: str, resolved: bool, notes: str) -> str:
        box = "x" if resolved else " "
        return f"- [{box}] **{name}**: {text(notes)}"

    mode = plan.get_mode_display() if plan.mode else None
    regime = plan.get_regime_display() if plan.regime else None
    threshold = None
    if plan.pass_threshold_percent is not None:
        threshold = f"{plan.pass_threshold_percent.normalize():f}% of the teacher's score"
    lines = [
        f"# Distillation plan: {' '.join(plan.title.split())}",
        "",
        f"_Status: {'complete' if plan.is_complete else 'draft'} · last edited {plan.updated_at:%Y-%m-%d}_",
        "",
        "## 1. Prompt or task",
        "",
        text(plan.task),
        "",
        "## 2. Current teacher",
        "",
        f"- **Model:** {text(plan.teacher_model)}",
        f"- **Cost per request:** {amount(plan.teacher_cost_per_request, money)}",
        f"- **Latency:** {amount(plan.teacher_latency_ms, lambda v: f'{v:,.0f} ms')}",
        "",
        "## 3. Candidate student",
        "",
        f"- **Student:** {text(plan.candidate_student)}",
        f"- **Fallback:** {text(plan.student_fallback)}",
        f"- **Serving cost per request:** {amount(plan.student_cost_per_request, money)}",
        f"- **Latency:** {amount(plan.student_latency_ms, lambda v: f'{v:,.0f} ms')}",
        "",
        "## 4. Distillation mode",
        "",
        f"**{text(mode)}.** {text(plan.mode_reason)}",
        "",
        "## 5. Offline or online",
        "",
        f"**{text(regime)}.** {plan.regime_notes.strip()}".rstrip(),
        "",
        "## 6. Training inputs",
        "",
        f"- **How many:** {amount(plan.inputs_count, lambda v: f'{v:,.0f}')}",
        f"- **Where from:** {text(plan.inputs_source)}",
        "",
        "## 7. Evaluation",
        "",
        f"- **Evaluation set:** {text(plan.eval_set)}",
        f"- **Pass threshold:** {text(threshold)}",
    ]
    if plan.pass_threshold_notes:
        lines.append(f"- **Other conditions:** {plan.pass_threshold_notes}")
    lines += [
        "",
        "## 8. Risks",
        "",
        risk(
            field("capacity_gap_notes").verbose_name.capitalize(), plan.capacity_gap_resolved, plan.capacity_gap_notes
        ),
        risk(
            field("behaviour_transfer_notes").verbose_name.capitalize(),
            plan.behaviour_transfer_resolved,
            plan.behaviour_transfer_notes,
        ),
        risk(
            field("terms_of_use_notes").verbose_name.capitalize(), plan.terms_of_use_resolved, plan.terms_of_use_notes
        ),
        "",
        "## Cost case",
        "",
        "| | |",
        "|---|---:|",
        f"| Requests per month | {amount(plan.monthly_requests, lambda v: f'{v:,.0f}')} |",
        f"| Teacher cost per month | {money(result.teacher_monthly_cost)} |",
        f"| Student serving cost per month | {money(result.student_monthly_cost)} |",
        f"| Monthly saving | {money(result.monthly_saving)} |",
        f"| One-off cost ({amount(plan.teacher_outputs_n, lambda v: f'{v:,.0f}')} teacher outputs + training) "
        f"| {money(result.one_off_cost)} |",
        f"| Break-even volume | {calculator.format_count(result.break_even_requests)} requests |",
        f"| Break-even time | {calculator.format_duration(result.break_even_months)} |",
        f"| Latency saved per request | {result.latency_saved_ms:,.0f} ms |",
        "",
        f"**{calculator.describe(result)}**",
        "",
        "Compute and API spend only; add engineering time for an honest total. A month is 30 days.",
        "",
    ]
    return "\n".join(lines)
