"""Browser pages for distillation plans, and the worksheet panel shown below the last drop's lesson."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from learnpath.idempotency import idempotent
from plans import selectors, services
from plans.api import markdown_response
from plans.calculator import calculator_display, describe
from plans.forms import PlanForm
from plans.models import DistillationPlan


def worksheet_contents(drops) -> dict[int, list[dict[str, str | None]]]:
    """For the path outline: the drop that holds the distillation-plan worksheet and its cost calculator."""
    return {
        drop.pk: [{"kind": "worksheet", "title": "Distillation plan worksheet and cost calculator", "url": None}]
        for drop in drops
        if drop.slug == services.PLAN_DROP_SLUG
    }


def worksheet_panel(request, drop) -> str | None:
    """Drop extra: the worksheet below the lesson of the path's last drop, for a signed-in learner."""
    if drop.slug != services.PLAN_DROP_SLUG or not request.user.is_authenticated:
        return None
    plans = selectors.plans_for(user=request.user)
    plan = plans.first()
    here = reverse("drop", args=[drop.pk]) + "#worksheet"
    context = {
        "plan": plan,
        "plan_count": plans.count(),
        "form": PlanForm(instance=plan),
        "action": _with_next(reverse("plan-edit", args=[plan.pk]) if plan else reverse("plan-new"), here),
        "in_drop": True,
        **_calculator_context(plan),
    }
    return render_to_string("plans/_worksheet.html", context, request=request)


@login_required
def plan_list(request):
    plans = [(plan, describe(plan.calculator())) for plan in selectors.plans_for(user=request.user)]
    return render(request, "plans/plan_list.html", {"plans": plans})


@login_required
@idempotent
def plan_new(request):
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            _saved_message(request, plan, first_completion=plan.completed_at is not None)
            return _redirect_next(request, default=reverse("plan-edit", args=[plan.pk]))
    return _worksheet_page(request, form, plan=None, status=400 if form.errors else 200)


@login_required
def plan_edit(request, plan_id: int):
    plan = _own_plan(request, plan_id)
    was_complete = plan.completed_at is not None
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_update(plan=plan, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            _saved_message(request, plan, first_completion=not was_complete and plan.completed_at is not None)
            return _redirect_next(request, default=reverse("plan-edit", args=[plan.pk]))
    if form.errors:
        plan = _own_plan(request, plan_id)  # the form wrote rejected values onto the instance
    return _worksheet_page(request, form, plan=plan, status=400 if form.errors else 200)


@login_required
def plan_delete(request, plan_id: int):
    plan = _own_plan(request, plan_id)
    if request.method == "POST":
        services.plan_delete(plan=plan)
        messages.success(request, f"Deleted “{plan.title}”.")
        return redirect("plans")
    return render(request, "plans/plan_confirm_delete.html", {"plan": plan})


@login_required
def plan_export(request, plan_id: int):
    return markdown_response(_own_plan(request, plan_id))


def _worksheet_page(request, form: PlanForm, *, plan: DistillationPlan | None, status: int):
    context = {
        "plan": plan,
        "form": form,
        "action": _with_next(request.get_full_path(), None),
        "in_drop": False,
        **_calculator_context(plan),
    }
    return render(request, "plans/plan_form.html", context, status=status)


def _calculator_context(plan: DistillationPlan | None) -> dict:
    result = (plan or DistillationPlan()).calculator()
    return {"result": result, "summary": describe(result), "calc": calculator_display(result)}


def _own_plan(request, plan_id: int) -> DistillationPlan:
    try:
        return selectors.plan_get(user=request.user, plan_id=plan_id)
    except DistillationPlan.DoesNotExist:
        raise Http404("No such plan.") from None


def _form_errors(form: PlanForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _saved_message(request, plan: DistillationPlan, *, first_completion: bool) -> None:
    if first_completion:
        messages.success(request, f"Saved “{plan.title}”. Your worksheet is complete: well done.")
    elif plan.is_complete:
        messages.success(request, f"Saved “{plan.title}”.")
    else:
        missing = len(plan.missing_fields)
        messages.info(request, f"Saved “{plan.title}” as a draft: {missing} field{'s' if missing != 1 else ''} to go.")


def _with_next(url: str, next_url: str | None) -> str:
    if not next_url:
        return url
    from urllib.parse import urlencode

    return f"{url.split('?')[0]}?{urlencode({'next': next_url})}"


def _redirect_next(request, *, default: str):
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)
