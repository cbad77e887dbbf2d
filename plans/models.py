"""A learner's distillation plan: the phase-4 worksheet, its risks and the calculator's inputs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from learnpath.validators import bounds, validate_display_multiline_text, validate_display_text
from plans.calculator import CalculatorInputs, CalculatorResult, calculate

# The slug of the drop that is the worksheet: saving a complete plan completes it.
PLAN_DROP_SLUG = "plan-your-distillation"

TEXT_LIMIT = 5000
MAX_MONTHLY_REQUESTS = 10**12
MAX_COUNT = 10**9
MAX_LATENCY_MS = 3_600_000
LATENCY_MESSAGE = "Enter {who} latency in milliseconds, between 0 and 3,600,000 (an hour)."


MONEY_DIGITS = 16
# An amount's largest whole value: just under the field's size (nearer the next power of ten, SQLite, which keeps
# decimals as 15-digit floats, may not read a value back as it was written).
MONEY_MAX = {8: 10 ** (MONEY_DIGITS - 8) - 1, 2: 10 ** (MONEY_DIGITS - 2) - 1}


def _money(*, places: int, help_text: str, verbose_name: str, what: str) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=MONEY_DIGITS,
        decimal_places=places,
        null=True,
        blank=True,
        validators=bounds(
            Decimal(0), Decimal(MONEY_MAX[places]), f"Enter {what} between $0 and ${MONEY_MAX[places]:,}."
        ),
        help_text=help_text,
    )


class DistillationPlan(models.Model):
    class Mode(models.TextChoices):
        OUTPUT = "output", "Output distillation"
        TRACE = "trace", "Trace distillation"
        PREFERENCE = "preference", "Preference distillation"

    class Regime(models.TextChoices):
        OFFLINE = "offline", "Offline (frozen teacher, data generated up front)"
        ONLINE = "online", "Online (teacher queried or updated during training)"

    # Fields a worksheet needs before it counts as complete; the risk checkboxes may stay open.
    REQUIRED_FOR_COMPLETE = (
        "title",
        "task",
        "teacher_model",
        "candidate_student",
        "mode",
        "mode_reason",
        "regime",
        "inputs_source",
        "inputs_count",
        "eval_set",
        "pass_threshold_percent",
        "capacity_gap_notes",
        "behaviour_transfer_notes",
        "terms_of_use_notes",
        "monthly_requests",
        "teacher_cost_per_request",
        "teacher_latency_ms",
        "student_cost_per_request",
        "student_latency_ms",
        "teacher_outputs_n",
        "teacher_cost_per_output",
        "training_cost",
    )

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="distillation_plans")
    title = models.CharField(
        max_length=200,
        validators=[validate_display_text],
        help_text="A name you will recognise, e.g. “SQL assistant, v1”.",
    )

    # 1. The prompt or task
    task = models.TextField(
        "prompt or task",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="Paste the prompt template, then describe the input and the output in one sentence each.",
    )
    # 2. The current teacher
    teacher_model = models.CharField(
        "current teacher model",
        max_length=200,
        validators=[validate_display_text],
        blank=True,
        help_text="The model and version you call today, e.g. a hosted frontier model, dated.",
    )
    # 3. The candidate student
    candidate_student = models.CharField(
        max_length=200,
        validators=[validate_display_text],
        blank=True,
        help_text="The smallest model that might do the job. Check its licence first.",
    )
    student_fallback = models.CharField(
        "fallback student",
        max_length=200,
        validators=[validate_display_text],
        blank=True,
        help_text="Optional: a larger model to try if the first is too small (the capacity gap).",
    )
    # 4. Mode
    mode = models.CharField(
        "distillation mode",
        max_length=12,
        choices=Mode.choices,
        blank=True,
        help_text="Output for labels or fixed fields, trace for text that needs steps, preference for judgement.",
    )
    mode_reason = models.TextField(
        "why this mode",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="One or two sentences: what the output looks like and what you can get from the teacher.",
    )
    # 5. Offline or online
    regime = models.CharField(
        "offline or online",
        max_length=8,
        choices=Regime.choices,
        blank=True,
        help_text="Almost every first plan is offline.",
    )
    regime_notes = models.TextField(
        "off-policy or on-policy",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="Will the student train on teacher-written sequences (off-policy) or its own, teacher-graded "
        "(on-policy)? On-policy needs the teacher's per-token distributions.",
    )
    # 6. Training inputs
    inputs_source = models.TextField(
        "where the training inputs come from",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="Inputs that look like production traffic (logged requests, with consent and redaction), how "
        "you will filter the teacher's outputs, and the slices you must cover.",
    )
    inputs_count = models.PositiveIntegerField(
        "number of training inputs",
        null=True,
        blank=True,
        validators=bounds(0, MAX_COUNT, f"Enter a number of training inputs between 0 and {MAX_COUNT:,}."),
        help_text="How many inputs you will send to the teacher.",
    )
    # 7. Evaluation
    eval_set = models.TextField(
        "evaluation set",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="A few hundred real inputs that never enter training, with answers you trust. Score the teacher "
        "on it first.",
    )
    pass_threshold_percent = models.DecimalField(
        "pass threshold (% of the teacher's score)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=bounds(
            Decimal(0), Decimal(200), "Enter a pass threshold between 0 and 200 (percent of the teacher's score)."
        ),
        help_text="Decided before training, e.g. 95 means the student must reach 95% of the teacher's score.",
    )
    pass_threshold_notes = models.TextField(
        "other pass conditions",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="Optional: a latency target, a high-stakes slice where the student may not be worse.",
    )
    # 8. Risks: a note each, and a box to tick once the risk is dealt with.
    capacity_gap_resolved = models.BooleanField("capacity gap dealt with", default=False)
    capacity_gap_notes = models.TextField(
        "capacity gap",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="Is the student big enough? How will you find out, and what is the fallback?",
    )
    behaviour_transfer_resolved = models.BooleanField("behaviour transfer dealt with", default=False)
    behaviour_transfer_notes = models.TextField(
        "behaviour and hallucination transfer",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="The student copies the teacher's habits and mistakes. How would your evaluation catch a "
        "confident wrong answer?",
    )
    terms_of_use_resolved = models.BooleanField("terms of use checked", default=False)
    terms_of_use_notes = models.TextField(
        "terms of use",
        max_length=TEXT_LIMIT,
        validators=[validate_display_multiline_text],
        blank=True,
        help_text="May you train on this teacher's outputs? Note the terms you read and their date. Not legal "
        "advice: ask your legal team.",
    )
    # The calculator's inputs
    monthly_requests = models.PositiveBigIntegerField(
        "requests per month",
        null=True,
        blank=True,
        validators=bounds(
            0, MAX_MONTHLY_REQUESTS, f"Enter a number of requests per month between 0 and {MAX_MONTHLY_REQUESTS:,}."
        ),
        help_text="How often your product sends this prompt in a month (a day's traffic × 30).",
    )
    teacher_cost_per_request = _money(
        places=8,
        verbose_name="teacher cost per request ($)",
        help_text="What one call to the teacher costs today.",
        what="a teacher cost per request",
    )
    teacher_latency_ms = models.PositiveIntegerField(
        "teacher latency (ms)",
        null=True,
        blank=True,
        validators=bounds(0, MAX_LATENCY_MS, LATENCY_MESSAGE.format(who="the teacher's")),
        help_text="The median you observe, in milliseconds.",
    )
    student_cost_per_request = _money(
        places=8,
        verbose_name="student serving cost per request ($)",
        what="a student cost per request",
        help_text="For a dedicated GPU: its cost per month ÷ requests per month. It rises as volume falls.",
    )
    student_latency_ms = models.PositiveIntegerField(
        "student latency (ms)",
        null=True,
        blank=True,
        validators=bounds(0, MAX_LATENCY_MS, LATENCY_MESSAGE.format(who="the student's")),
        help_text="Your estimate or a measurement, in milliseconds.",
    )
    teacher_outputs_n = models.PositiveIntegerField(
        "teacher outputs to generate (N)",
        null=True,
        blank=True,
        validators=bounds(0, MAX_COUNT, f"Enter a number of teacher outputs between 0 and {MAX_COUNT:,}."),
        help_text="Inputs × samples per input, before filtering.",
    )
    teacher_cost_per_output = _money(
        places=8,
        verbose_name="teacher cost per generated output ($)",
        what="a teacher cost per output",
        help_text="Usually the teacher's cost per request, unless you use a batch discount or longer outputs.",
    )
    training_cost = _money(
        places=2,
        verbose_name="training cost ($)",
        what="a training cost",
        help_text="GPUs × hours × price per GPU-hour. Add engineering time if you want an honest total.",
    )
    completed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the worksheet was first saved complete."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = "distillation plan"
        indexes = [models.Index(fields=["owner", "-updated_at"], name="plan_owner_updated")]

    def __str__(self) -> str:
        return self.title

    @property
    def missing_fields(self) -> list[str]:
        return [name for name in self.REQUIRED_FOR_COMPLETE if getattr(self, name) in (None, "")]

    @property
    def is_complete(self) -> bool:
        return not self.missing_fields

    def calculator_inputs(self) -> CalculatorInputs:
        return CalculatorInputs(
            monthly_requests=self.monthly_requests,
            teacher_cost_per_request=self.teacher_cost_per_request,
            teacher_latency_ms=self.teacher_latency_ms,
            student_cost_per_request=self.student_cost_per_request,
            student_latency_ms=self.student_latency_ms,
            teacher_outputs_n=self.teacher_outputs_n,
            teacher_cost_per_output=self.teacher_cost_per_output,
            training_cost=self.training_cost,
        )

    def calculator(self) -> CalculatorResult:
        return calculate(self.calculator_inputs())
