"""/api/plans/: a learner's own distillation plans. One thin view per resource; serializers beside them."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DecimalField
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import renderers, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from learnpath.api.fields import RoundedDecimalField
from learnpath.api.validation import validated
from learnpath.api.views import ERROR  # the one error shape of the whole API
from learnpath.idempotency import idempotent
from learnpath.validators import bounds_of, drf_bounds
from plans import selectors, services
from plans.calculator import describe
from plans.models import DistillationPlan

# In the worksheet's order, as the model declares them.
INPUT_FIELDS = [f.name for f in DistillationPlan._meta.fields if f.name in services.EDITABLE_FIELDS]
DECIMAL_FIELDS = [
    "teacher_cost_per_request",
    "student_cost_per_request",
    "teacher_cost_per_output",
    "training_cost",
    "pass_threshold_percent",
]


def _input_kwargs(name: str) -> dict:
    """A field's bounds and the model's message for them (DRF would say "Ensure this value is less than or equal
    to …"); money goes out as JSON numbers (the database keeps exact decimals)."""
    kwargs: dict = {"coerce_to_string": False} if name in DECIMAL_FIELDS else {}
    found = bounds_of(DistillationPlan._meta.get_field(name).validators)
    if found is not None:
        kwargs.update(drf_bounds(*found))
    return kwargs


class PlanInputSerializer(serializers.ModelSerializer):
    """The worksheet's fields. Amounts keep 8 decimal places (the training cost 2) and the pass threshold 2: a
    number with more is rounded to them, not refused; a number outside its minimum and maximum is a 400 whose
    message says the range. Text may hold any printable Unicode (emoji sequences, combining marks, any script;
    the notes also line breaks and tabs); control characters and bidirectional controls (U+202A–U+202E,
    U+2066–U+2069, U+200E, U+200F, U+061C) and other invisible format characters are a 400 naming the character
    and its position."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        DecimalField: RoundedDecimalField,
    }

    class Meta:
        model = DistillationPlan
        fields = INPUT_FIELDS
        extra_kwargs = {name: _input_kwargs(name) for name in INPUT_FIELDS}


class CalculatorSerializer(serializers.Serializer):
    teacher_monthly_cost = serializers.FloatField(help_text="Requests per month × teacher cost per request.")
    student_monthly_cost = serializers.FloatField(help_text="Requests per month × student cost per request.")
    generation_cost = serializers.FloatField(help_text="N teacher outputs × teacher cost per output.")
    one_off_cost = serializers.FloatField(help_text="Generation cost + training cost.")
    saving_per_request = serializers.FloatField(help_text="Teacher cost − student cost per request.")
    monthly_saving = serializers.FloatField()
    status = serializers.ChoiceField(
        choices=["breaks_even", "never", "no_volume"],
        help_text="'never' when the student costs as much as the teacher per request or more; "
        "'no_volume' when there is a saving but no monthly volume to date it.",
    )
    break_even_requests = serializers.FloatField(
        allow_null=True, help_text="Total requests after which the one-off cost is paid back; null when never."
    )
    break_even_months = serializers.FloatField(allow_null=True)
    break_even_days = serializers.FloatField(allow_null=True, help_text="Break-even months × 30.")
    latency_saved_ms = serializers.FloatField(help_text="Teacher latency − student latency; negative if slower.")
    summary = serializers.CharField(help_text="The result in one sentence.")


def _blank_choice(model_field: str) -> serializers.ChoiceField:
    """A read-only choice that may still be empty: documented as such, so clients expect ""."""
    field = DistillationPlan._meta.get_field(model_field)
    return serializers.ChoiceField(choices=field.choices, allow_blank=True, read_only=True, help_text=field.help_text)


class PlanOutputSerializer(PlanInputSerializer):
    """A plan: the worksheet's fields, how complete it is and the calculator's result."""

    mode = _blank_choice("mode")
    regime = _blank_choice("regime")
    is_complete = serializers.BooleanField(read_only=True)
    missing_fields = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Fields still empty before the plan is complete."
    )
    calculator = serializers.SerializerMethodField()

    class Meta(PlanInputSerializer.Meta):
        fields = [
            "id",
            *INPUT_FIELDS,
            "is_complete",
            "missing_fields",
            "completed_at",
            "created_at",
            "updated_at",
            "calculator",
        ]
        read_only_fields = fields

    @extend_schema_field(CalculatorSerializer)
    def get_calculator(self, plan: DistillationPlan) -> dict:
        result = plan.calculator()
        return CalculatorSerializer({**result.as_dict(), "summary": describe(result)}).data


class PlanSummarySerializer(serializers.ModelSerializer):
    mode = _blank_choice("mode")
    is_complete = serializers.BooleanField(read_only=True)

    class Meta:
        model = DistillationPlan
        fields = ["id", "title", "mode", "is_complete", "completed_at", "created_at", "updated_at"]
        read_only_fields = fields


EXAMPLE = OpenApiExample(
    "SQL assistant",
    request_only=True,
    value={
        "title": "SQL assistant, v1",
        "task": "Turn an analyst's question and the schema into one SQL query.",
        "teacher_model": "Hosted frontier model (2026-11)",
        "candidate_student": "Open-weight 7B code model",
        "mode": "trace",
        "mode_reason": "Text that needs a few steps; the API returns only text.",
        "regime": "offline",
        "monthly_requests": 600000,
        "teacher_cost_per_request": 0.0105,
        "student_cost_per_request": 0.0024,
        "teacher_outputs_n": 50000,
        "teacher_cost_per_output": 0.0105,
        "training_cost": 48,
    },
)


class PlanListApi(APIView):
    @extend_schema(
        responses={200: PlanSummarySerializer(many=True), 401: OpenApiResponse(ERROR)},
        tags=["plans"],
        summary="Your distillation plans, most recently edited first",
    )
    def get(self, request):
        return Response(PlanSummarySerializer(selectors.plans_for(user=request.user), many=True).data)

    @idempotent
    @extend_schema(
        request=PlanInputSerializer,
        responses={
            201: PlanOutputSerializer,
            400: OpenApiResponse(ERROR, description="A field is invalid, or you already keep the most plans."),
            401: OpenApiResponse(ERROR),
        },
        examples=[EXAMPLE],
        tags=["plans"],
        summary="Start a plan (only the title is required; save the rest as you go)",
        description="Saving a complete worksheet completes the path's last drop when it is available to you.",
    )
    def post(self, request):
        data = validated(PlanInputSerializer, request.data)
        plan = _apply(lambda: services.plan_create(owner=request.user, **data))
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(APIView):
    @extend_schema(
        responses={200: PlanOutputSerializer, 401: OpenApiResponse(ERROR), 404: OpenApiResponse(ERROR)},
        tags=["plans"],
        summary="One of your plans with its calculator result",
    )
    def get(self, request, plan_id: int):
        return Response(PlanOutputSerializer(_own_plan(request, plan_id)).data)

    @extend_schema(
        request=PlanInputSerializer(partial=True),
        responses={
            200: PlanOutputSerializer,
            400: OpenApiResponse(ERROR),
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR),
        },
        tags=["plans"],
        summary="Change some fields of one of your plans",
        description="Send the fields to change, at least one: a body that names none of them is a 400 and changes "
        "nothing. Saving a complete worksheet completes the path's last drop when it is available to you.",
    )
    def patch(self, request, plan_id: int):
        plan = _own_plan(request, plan_id)
        data = validated(PlanInputSerializer, request.data, partial=True)
        plan = _apply(lambda: services.plan_update(plan=plan, **data))
        return Response(PlanOutputSerializer(plan).data)

    @extend_schema(
        responses={204: None, 401: OpenApiResponse(ERROR), 404: OpenApiResponse(ERROR)},
        tags=["plans"],
        summary="Delete one of your plans",
    )
    def delete(self, request, plan_id: int):
        services.plan_delete(plan=_own_plan(request, plan_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MarkdownRenderer(renderers.BaseRenderer):
    """Lets clients ask for text/markdown; the plan itself is an HttpResponse, errors render as their detail."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):
            data = data.get("detail", "")
        return str(data or "").encode(self.charset)


class NamedFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` must name one of the view's formats (the schema's enum): an empty one is a 404, as an unknown
    one is, rather than quietly meaning none."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) == "":
            self.filter_renderers(renderers, "")  # raises Http404: no renderer has an empty format
        return super().select_renderer(request, renderers, format_suffix)


class PlanMarkdownApi(APIView):
    renderer_classes = [renderers.JSONRenderer, MarkdownRenderer]
    content_negotiation_class = NamedFormatNegotiation

    @extend_schema(
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The plan as a Markdown file."),
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR),
        },
        tags=["plans"],
        summary="Download one of your plans as Markdown",
    )
    def get(self, request, plan_id: int):
        return markdown_response(_own_plan(request, plan_id))


def markdown_response(plan: DistillationPlan) -> HttpResponse:
    response = HttpResponse(selectors.plan_export_markdown(plan=plan), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=selectors.plan_export_filename(plan=plan)
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _own_plan(request, plan_id: int) -> DistillationPlan:
    try:
        return selectors.plan_get(user=request.user, plan_id=plan_id)
    except DistillationPlan.DoesNotExist:
        # Someone else's plan and a plan that does not exist look the same.
        raise NotFound("No such plan.") from None


def _apply(action):
    try:
        return action()
    except DjangoValidationError as error:
        raise ValidationError(
            error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        ) from None
