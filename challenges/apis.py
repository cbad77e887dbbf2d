"""Challenge API: list, detail, submit, poll a submission, history, hints. One thin view per operation."""

from __future__ import annotations

from dataclasses import asdict

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from challenges import selectors, services
from challenges.content import hint_html
from challenges.kinds import KIND_CHOICES, KINDS
from challenges.models import Challenge, ExampleRun, Submission
from learnpath import services as learnpath_services
from learnpath.api.errors import Conflict
from learnpath.api.schema import WHITESPACE
from learnpath.api.validation import validated
from learnpath.idempotency import idempotent

ERROR = OpenApiResponse(
    inline_serializer(
        "ChallengeError", {"detail": serializers.CharField(), "errors": serializers.DictField(required=False)}
    ),
    description="Error: a readable `detail`, and `errors` per field for invalid input.",
)
TAGS = ["challenges"]
STATUSES = [selectors.NOT_TRIED, selectors.ATTEMPTED, selectors.PASSED]


class SubmissionThrottle(UserRateThrottle):
    """Per learner, at the rate of the ``submissions`` scope; read per request so settings can change it."""

    scope = "submissions"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ExampleRunThrottle(SubmissionThrottle):
    """Running on examples, per learner, at the rate of the ``example_runs`` scope (its own counter)."""

    scope = "example_runs"


def _challenge_or_404(slug: str) -> Challenge:
    challenge = selectors.challenge_get(slug=slug)
    if challenge is None:
        raise Http404(f"No challenge {slug!r}.")
    return challenge


def _accept_code(request, slug: str, input_serializer, create):
    """Validate ``{"code": ...}`` for the challenge and hand it to ``create`` (a submission or an example run).

    A malformed body or unusable code is a 400 on the field; any other refusal (retired, too many in flight,
    no examples) a 409 with the service's message.
    """
    challenge = _challenge_or_404(slug)
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ['Send a JSON object like {"code": "..."}.']})
    code = validated(input_serializer, request.data)["code"]
    try:
        return create(
            user=request.user, challenge=challenge, code=code, client_network=learnpath_services.client_network(request)
        )
    except services.SubmissionRejected as rejected:
        if rejected.code == "invalid":
            raise ValidationError({"code": [rejected.message]}) from None
        raise Conflict(rejected.message) from None


class StandingFields(serializers.Serializer):
    status = serializers.ChoiceField(STATUSES, help_text="The caller's best status on this challenge.")
    best_score = serializers.FloatField(allow_null=True, help_text="Best fraction of checks passed, 0 to 1.")
    attempts = serializers.IntegerField()


class ChallengeSummarySerializer(StandingFields):
    slug = serializers.SlugField()
    kind = serializers.ChoiceField(KIND_CHOICES, help_text="The challenge kind that grades it.")
    title = serializers.CharField()
    summary = serializers.CharField()
    drop_id = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The challenge's page in the browser.")
    api_url = serializers.CharField()


def _summary(challenge: Challenge, standing: selectors.ChallengeStanding) -> dict:
    return {
        "slug": challenge.slug,
        "kind": challenge.kind,
        "title": challenge.title,
        "summary": challenge.summary,
        "drop_id": challenge.drop_id,
        "url": challenge.get_absolute_url(),
        "api_url": f"/api/challenges/{challenge.slug}/",
        "status": standing.status,
        "best_score": standing.best_score,
        "attempts": standing.attempts,
    }


class ChallengeListApi(APIView):
    @extend_schema(responses={200: ChallengeSummarySerializer(many=True)}, tags=TAGS, summary="List challenges")
    def get(self, request):
        challenges = list(selectors.challenge_list())
        standings = selectors.challenge_standings(user=request.user, challenges=challenges)
        data = [_summary(c, standings.get(c.pk, selectors.NOT_TRIED_STANDING)) for c in challenges]
        return Response(ChallengeSummarySerializer(data, many=True).data)


class ChallengeDetailApi(APIView):
    class ChallengeDetailSerializer(ChallengeSummarySerializer):
        statement_html = serializers.CharField(help_text="The statement, rendered and sanitized.")
        statement_markdown = serializers.CharField()
        starter_code = serializers.CharField()
        entrypoint = serializers.CharField()
        parameters = serializers.ListField(
            child=serializers.CharField(), help_text="The entry point's parameters, in order."
        )
        returns = serializers.ChoiceField(
            ["tensor", "state_dict"], help_text="What is read back: a returned tensor, or a trained module's state."
        )
        limits = serializers.DictField(help_text="The sandbox limits this challenge is graded under.")
        hints_total = serializers.IntegerField()
        hints_revealed = serializers.ListField(child=serializers.CharField(), help_text="As Markdown.")
        hints_revealed_html = serializers.ListField(
            child=serializers.CharField(), help_text="The same hints, rendered and sanitized."
        )
        examples = serializers.BooleanField(help_text='Whether "Run on examples" (the try endpoint) is offered.')
        solution_code = serializers.CharField(allow_null=True, help_text="The reference solution, after a pass.")

    @extend_schema(
        responses={200: ChallengeDetailSerializer, 404: ERROR},
        tags=TAGS,
        summary="One challenge, with the caller's hints so far and, after a pass, the reference solution",
    )
    def get(self, request, slug: str):
        challenge = _challenge_or_404(slug)
        return Response(self.ChallengeDetailSerializer(challenge_detail(request.user, challenge)).data)


def challenge_detail(user, challenge: Challenge) -> dict:
    standing = selectors.challenge_standing(user=user, challenge=challenge)
    hints = selectors.hints_revealed(user=user, challenge=challenge)
    return {
        **_summary(challenge, standing),
        "statement_html": challenge.statement_html,
        "statement_markdown": challenge.statement_markdown,
        "starter_code": challenge.starter_code,
        "entrypoint": challenge.entrypoint,
        "parameters": list(KINDS[challenge.kind].parameters),
        "returns": KINDS[challenge.kind].returns,
        "limits": asdict(challenge.grading_target().limits),
        "hints_total": len(challenge.hints),
        "hints_revealed": hints,
        "hints_revealed_html": [hint_html(hint) for hint in hints],
        "examples": KINDS[challenge.kind].examples,
        "solution_code": challenge.solution_code if standing.status == selectors.PASSED else None,
    }


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    advisory = serializers.BooleanField(
        default=False,
        help_text="Measured inside the learner's own process, so shown as advice: it never decides the verdict.",
    )


class LossVerdictDetails(serializers.Serializer):
    kind = serializers.ChoiceField(["distillation-loss", "sequence-distillation-loss"], help_text="The challenge kind.")
    cases = serializers.IntegerField(required=False, help_text="How many hidden inputs the function ran on.")


class TrainStudentVerdictDetails(serializers.Serializer):
    kind = serializers.ChoiceField(["train-student"], help_text="The challenge kind.")
    min_accuracy = serializers.FloatField(required=False, help_text="Test accuracy needed to pass, 0 to 1.")
    min_agreement = serializers.FloatField(required=False, help_text="Top-1 agreement with the teacher needed.")
    accuracy = serializers.FloatField(
        required=False, help_text="The trained student's accuracy on the hidden test set."
    )
    agreement = serializers.FloatField(required=False, help_text="Share of hidden test images where it agrees.")
    baseline_accuracy = serializers.FloatField(required=False, help_text="The same student on the 50 labels alone.")
    baseline_agreement = serializers.FloatField(required=False)
    teacher_accuracy = serializers.FloatField(required=False)
    teacher_mistakes_copied = serializers.FloatField(
        required=False, help_text="Share of the teacher's wrong test answers the student repeats."
    )
    test_images = serializers.IntegerField(required=False)
    steps = serializers.IntegerField(required=False, help_text="Length of the returned training curve.")
    curve = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="The loss per step, evenly downsampled to at most 300 points; null where it was not finite.",
    )


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="VerdictDetails",
        serializers={
            "distillation-loss": LossVerdictDetails,
            "sequence-distillation-loss": LossVerdictDetails,
            "train-student": TrainStudentVerdictDetails,
        },
        resource_type_field_name="kind",
    )
)
class VerdictDetailsField(serializers.JSONField):
    """The kind's own verdict details; until there is a verdict (queued, running), only the kind.

    ``kind`` is always there, whatever the state: it is the discriminator that tells clients (and the schema's
    oneOf) which of the shapes the details have."""

    def to_representation(self, submission: Submission):
        return {"kind": submission.challenge.kind, **(submission.details or {})}


class PreviousVerdictSerializer(serializers.Serializer):
    status = serializers.ChoiceField(Submission.Status.choices)
    score = serializers.FloatField(allow_null=True)
    feedback = serializers.CharField(allow_blank=True)
    mistakes = serializers.ListField(child=serializers.CharField())
    grader_version = serializers.CharField(allow_blank=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class SubmissionSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    checks = CheckSerializer(many=True, read_only=True)
    mistakes = serializers.ListField(child=serializers.CharField(), read_only=True)
    details = VerdictDetailsField(source="*", read_only=True)
    timings = serializers.DictField(child=serializers.FloatField(), read_only=True)
    is_final = serializers.BooleanField(read_only=True, help_text="True once the verdict is in: stop polling.")
    grader_version = serializers.CharField(read_only=True, help_text="The grader (kind code + challenge file) hash.")
    previous_verdicts = PreviousVerdictSerializer(
        many=True, read_only=True, help_text="Verdicts a regrade replaced, oldest first."
    )
    phase = serializers.ChoiceField(
        Submission.Phase.choices,
        read_only=True,
        help_text=(
            "Where grading is: `queued`, `running` (the code runs in the sandbox), `checking` (the sandbox "
            "has returned; the grader compares its outputs with the references), then `done`."
        ),
    )
    queue_position = serializers.SerializerMethodField(
        help_text=(
            "While queued: its place in the fair order the next free graders follow (fewest gradings running "
            "first, then the learner served longest ago, then the oldest), 1 = next. Null otherwise."
        )
    )
    estimated_wait_seconds = serializers.SerializerMethodField(
        help_text=(
            "While queued: the estimated seconds until its verdict, simulated along the fair order from the "
            "gradings running now and each challenge's own recent grading times (or its typical time). Null "
            "when not queued or when there are no timings to estimate from."
        )
    )
    typical_grading_seconds = serializers.SerializerMethodField(
        help_text="While running or checking: this challenge's median grading time. Null otherwise or unknown."
    )
    grading_delayed = serializers.SerializerMethodField(
        help_text=(
            "True while queued but not yet handed to the grading queue (it is down): the submission is stored "
            "and is sent, in its turn, as soon as the queue is back. Nothing needs to be submitted again."
        )
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id", "url", "challenge", "attempt", "status", "is_final", "phase", "queue_position",
            "estimated_wait_seconds", "typical_grading_seconds", "grading_delayed", "score", "feedback", "checks",
            "mistakes",
            "details", "timings", "device", "worker_host", "grader_version", "regraded_at", "previous_verdicts",
            "code", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, submission: Submission) -> str:
        return f"/api/submissions/{submission.pk}/"

    def _progress(self, submission: Submission) -> selectors.GradingProgress:
        # Views read every submission's progress at once (submission_data); anyone else gets it one by one.
        known = self.context.setdefault("progress", {})
        if submission.pk not in known:
            known.update(selectors.submission_progress(submissions=[submission]))
        return known[submission.pk]

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_queue_position(self, submission: Submission) -> int | None:
        return self._progress(submission).queue_position

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_estimated_wait_seconds(self, submission: Submission) -> int | None:
        return self._progress(submission).estimated_wait_seconds

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_typical_grading_seconds(self, submission: Submission) -> int | None:
        return self._progress(submission).typical_seconds

    @extend_schema_field(serializers.BooleanField())
    def get_grading_delayed(self, submission: Submission) -> bool:
        return self._progress(submission).delayed


def submission_data(submissions: list[Submission]) -> list[dict]:
    """The submissions as the API shows them, their grading progress read for all of them at once."""
    progress = selectors.submission_progress(submissions=submissions)
    return SubmissionSerializer(submissions, many=True, context={"progress": progress}).data


@extend_schema_field(
    {
        "type": "string",
        # As services.code_problem: something besides (Python's) white space, and no NUL character.
        "pattern": rf"^[^\u0000]*[^{WHITESPACE}\u0000][^\u0000]*$",
        "maxLength": services.MAX_CODE_BYTES,
    }
)
class SourceCodeField(serializers.CharField):
    """Text only: DRF's CharField would quietly turn 42 or true into source code. Never trimmed; white space
    alone, like nothing, is refused (by services.code_problem), as the schema's pattern says."""

    default_error_messages = {"blank": "Your code is empty."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SubmissionListCreateApi(APIView):
    throttle_classes = [SubmissionThrottle]

    class SubmissionInputSerializer(serializers.Serializer):
        code = SourceCodeField(
            trim_whitespace=False,
            help_text=f"Python source defining the entrypoint; at most {services.MAX_CODE_BYTES:,} bytes (UTF-8).",
        )

    def get_throttles(self):
        # Only submitting is rate-limited; reading one's history is not.
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        responses={200: SubmissionSerializer(many=True), 404: ERROR},
        tags=TAGS,
        summary="The caller's submissions to this challenge, newest first",
    )
    def get(self, request, slug: str):
        challenge = _challenge_or_404(slug)
        history = list(selectors.submission_history(user=request.user, challenge=challenge))
        return Response(submission_data(history))

    @idempotent
    @extend_schema(
        request=SubmissionInputSerializer,
        responses={202: SubmissionSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
        tags=TAGS,
        summary="Submit code for grading",
        description=(
            "Stores the attempt and queues it for grading; answers 202 at once. Poll the submission's `url` "
            "until `is_final`; meanwhile `phase`, `queue_position` and `estimated_wait_seconds` say where it "
            "is. Rate-limited per learner (429 with Retry-After); 409 while too many of the "
            "caller's submissions are still waiting for a verdict, or while the caller's network (IPv4 /24, "
            "IPv6 /64) has `GRADING_IN_FLIGHT_PER_NETWORK` submissions and example runs queued or running "
            "across all its accounts."
        ),
    )
    def post(self, request, slug: str):
        submission = _accept_code(request, slug, self.SubmissionInputSerializer, services.submission_create)
        return Response(submission_data([submission])[0], status=status.HTTP_202_ACCEPTED)


class SubmissionDetailApi(APIView):
    @extend_schema(
        responses={200: SubmissionSerializer, 404: ERROR},
        tags=TAGS,
        summary="One of the caller's submissions, with its verdict once graded (others' are 404)",
    )
    def get(self, request, submission_id: int):
        submission = selectors.submission_get(user=request.user, submission_id=submission_id)
        if submission is None:
            raise Http404("No such submission.")
        return Response(submission_data([submission])[0])


class HintRevealApi(APIView):
    class HintRevealSerializer(serializers.Serializer):
        index = serializers.IntegerField(help_text="0 for the first hint.")
        hint = serializers.CharField(help_text="As Markdown.")
        hint_html = serializers.CharField(help_text="The hint rendered and sanitized.")
        hints_revealed = serializers.ListField(child=serializers.CharField())
        hints_total = serializers.IntegerField()
        hints_left = serializers.IntegerField()

    @idempotent
    @extend_schema(
        request=None,
        responses={201: HintRevealSerializer, 404: ERROR, 409: ERROR},
        tags=TAGS,
        summary="Reveal the caller's next hint (recorded); 409 when none is left",
    )
    def post(self, request, slug: str):
        challenge = _challenge_or_404(slug)
        try:
            index, hint = services.hint_reveal(user=request.user, challenge=challenge)
        except services.NoHintsLeft:
            raise Conflict("You have seen every hint for this challenge.") from None
        revealed = challenge.hints[: index + 1]
        data = {
            "index": index,
            "hint": hint,
            "hint_html": hint_html(hint),
            "hints_revealed": revealed,
            "hints_total": len(challenge.hints),
            "hints_left": len(challenge.hints) - len(revealed),
        }
        return Response(self.HintRevealSerializer(data).data, status=status.HTTP_201_CREATED)


class ExampleInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="For a tensor.")
    dtype = serializers.CharField(required=False, help_text="For a tensor: float32, int64, bool...")
    values = serializers.JSONField(
        required=False,
        help_text=(
            "For a small tensor (up to 40 elements), its values in full: nested lists by its shape, floats to 4 "
            "significant digits, integers and booleans (a mask) as integers."
        ),
    )
    summary = serializers.CharField(
        required=False,
        help_text=(
            "For a larger tensor, instead of values: how many, a mask's real tokens per sequence, min/mean/max "
            "and the first values."
        ),
    )
    value = serializers.JSONField(required=False, help_text="For a plain number (temperature, alpha).")


class ExampleMistakeSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    explanation = serializers.CharField()
    advisory = serializers.BooleanField(help_text="A tip: it would not decide a verdict.")


class ExampleDiagnosisSerializer(serializers.Serializer):
    """What grading would say of the examples' values, in its words; empty when nothing differed."""

    headline = serializers.CharField(
        allow_blank=True,
        help_text=(
            "What a failed submission's feedback would open with: the recognised mistakes, named and explained, "
            "most likely first; then, or alone, what differed that they do not explain (input, expected, got). "
            "Empty when every example matches."
        ),
    )
    mistakes = ExampleMistakeSerializer(many=True, help_text="The recognised mistakes, most likely first.")


class LossExampleResultSerializer(serializers.Serializer):
    """One example of a loss kind (distillation-loss, sequence-distillation-loss)."""

    description = serializers.CharField()
    inputs = ExampleInputSerializer(many=True)
    expected = serializers.CharField(help_text="The reference's value, computed outside the sandbox in float64.")
    got = serializers.CharField(allow_null=True, help_text="The learner's value; null when there was none.")
    matches = serializers.BooleanField(help_text="Within the grader's tolerance of the expected value.")
    gradient = serializers.ChoiceField(
        ["matches", "differs", "missing"],
        allow_null=True,
        help_text="The gradient w.r.t. the student's logits against the reference's; null without a value.",
    )
    error = serializers.CharField(allow_blank=True, help_text="The learner's traceback, or what was wrong.")


class TrainingExampleResultSerializer(serializers.Serializer):
    """The one example of train-student: the trained student scored on a visible validation split."""

    description = serializers.CharField()
    inputs = ExampleInputSerializer(many=True)
    validation_images = serializers.IntegerField(
        help_text="Size of the visible validation split (training images held out of the example's data)."
    )
    accuracy = serializers.FloatField(
        allow_null=True, help_text="The trained student's accuracy on the validation split, 0 to 1; null without one."
    )
    agreement = serializers.FloatField(
        allow_null=True, help_text="Share of validation images where it gives the teacher's top answer; null without."
    )
    min_accuracy = serializers.FloatField(help_text="The accuracy grading requires (on the hidden test set).")
    min_agreement = serializers.FloatField(help_text="The teacher agreement grading requires.")
    meets_accuracy = serializers.BooleanField()
    meets_agreement = serializers.BooleanField()
    baseline_accuracy = serializers.FloatField(help_text="The same student, same start, trained on the labels alone.")
    baseline_agreement = serializers.FloatField()
    teacher_accuracy = serializers.FloatField(help_text="The example's teacher on the validation split.")
    steps = serializers.IntegerField(help_text="Length of the returned training curve; 0 without one.")
    first_loss = serializers.FloatField(allow_null=True, help_text="The curve's first finite value.")
    final_loss = serializers.FloatField(allow_null=True, help_text="The curve's last finite value.")
    training_seconds = serializers.FloatField(help_text="How long the function ran, timed inside the sandbox.")
    advice = serializers.CharField(allow_blank=True, help_text="A recognised mistake, named and explained.")
    error = serializers.CharField(allow_blank=True, help_text="The traceback, or what was wrong with the result.")


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="ExampleResult",
        serializers=[LossExampleResultSerializer, TrainingExampleResultSerializer],
        resource_type_field_name=None,
        many=True,
    )
)
class ExampleResultsField(serializers.JSONField):
    """The rows the kind's trusted side stored; their shape follows the run's ``kind``."""


class ExampleRunSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind = serializers.ChoiceField(
        KIND_CHOICES, source="challenge.kind", read_only=True, help_text="The challenge's kind: the rows' shape."
    )
    is_final = serializers.BooleanField(read_only=True, help_text="True once the run is over: stop polling.")
    examples = ExampleResultsField(read_only=True)
    diagnosis = serializers.SerializerMethodField(
        help_text=(
            "The run's diagnosis of the examples' values, by the grader's own rules and in its words: for the loss "
            "kinds, the recognised mistakes ranked or what differed; for train-student, the mistakes its row's "
            "`advice` names. Empty headline and mistakes when there is none (or the run did not run)."
        )
    )
    grading_delayed = serializers.SerializerMethodField(
        help_text=(
            "True while queued but not yet handed to the grading queue (it is down): the run is stored and starts "
            "as soon as the queue is back."
        )
    )
    queue_position = serializers.SerializerMethodField(
        help_text="While queued: its place in the same fair order as submissions, 1 = next. Null otherwise."
    )
    estimated_wait_seconds = serializers.SerializerMethodField(
        help_text=(
            "While queued: the estimated seconds until its results, from the same order and recent timings as a "
            "submission's. Null otherwise, or when there are no timings to estimate from."
        )
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = ExampleRun
        fields = [
            "id", "url", "challenge", "kind", "status", "is_final", "grading_delayed", "queue_position",
            "estimated_wait_seconds", "message", "diagnosis", "examples", "stdout", "stderr", "created_at",
            "started_at",
            "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, run: ExampleRun) -> str:
        return f"/api/example-runs/{run.pk}/"

    def _progress(self, run: ExampleRun) -> selectors.ExampleRunProgress:
        known = self.context.setdefault("example_progress", {})
        if run.pk not in known:
            known[run.pk] = selectors.example_run_progress(run)
        return known[run.pk]

    @extend_schema_field(ExampleDiagnosisSerializer)
    def get_diagnosis(self, run: ExampleRun) -> dict:
        found = run.diagnosis or {}
        return {"headline": found.get("headline", ""), "mistakes": found.get("mistakes", [])}

    @extend_schema_field(serializers.BooleanField())
    def get_grading_delayed(self, run: ExampleRun) -> bool:
        return self._progress(run).delayed

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_queue_position(self, run: ExampleRun) -> int | None:
        return self._progress(run).queue_position

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_estimated_wait_seconds(self, run: ExampleRun) -> int | None:
        return self._progress(run).estimated_wait_seconds


class ExampleRunCreateApi(APIView):
    throttle_classes = [ExampleRunThrottle]

    class ExampleRunInputSerializer(serializers.Serializer):
        code = SourceCodeField(trim_whitespace=False, help_text="Python source, as for a submission.")

    @idempotent
    @extend_schema(
        request=ExampleRunInputSerializer,
        responses={202: ExampleRunSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
        tags=TAGS,
        summary="Run code on the challenge's visible examples, without counting an attempt",
        description=(
            "Queues the code on the grading workers, in the same sandbox, on a few fixed example inputs that "
            "are shown to the learner (never the hidden ones). Nothing is graded or stored as an attempt. Poll "
            "the run's `url` until `is_final`; then `examples` gives per example, for the loss kinds, the "
            "inputs (a small tensor's values in full, a larger one's summary, numbers as they are), the "
            "learner's value, the expected one, the gradient and any error, and `diagnosis` what grading would "
            "say of those values (its headline: the recognised mistakes, ranked, or what differed); for "
            "train-student, one row: the trained student's accuracy and teacher agreement on a visible "
            "validation split (never the hidden test set) beside the thresholds and the labels-only baseline, "
            "the training time, the grader's advice and any error. `stdout`/`stderr` hold the run's output "
            "(the last 4,000 characters of each, as text). 409 for a challenge of a kind without examples or "
            "while a run is still going, or while the caller's network has `GRADING_IN_FLIGHT_PER_NETWORK` "
            "gradings queued or running across its accounts (as for a submission); rate-limited per learner (429)."
        ),
    )
    def post(self, request, slug: str):
        run = _accept_code(request, slug, self.ExampleRunInputSerializer, services.example_run_create)
        return Response(ExampleRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ExampleRunDetailApi(APIView):
    @extend_schema(
        responses={200: ExampleRunSerializer, 404: ERROR},
        tags=TAGS,
        summary="One of the caller's runs on examples (others' are 404)",
    )
    def get(self, request, run_id: int):
        run = selectors.example_run_get(user=request.user, run_id=run_id)
        if run is None:
            raise Http404("No such run.")
        return Response(ExampleRunSerializer(run).data)
