import json

import pytest

from challenges.kinds import load_kind
from challenges.kinds.grader import GradingInfrastructureError
from tests.grading.conftest import grade_code, solution
from workers.sandbox import SandboxPool, runner

pytestmark = pytest.mark.sandbox

SLUG = "distillation-loss"
KIND = load_kind(SLUG)
MISTAKES_BY_KEY = {m.key: m for m in KIND.mistakes}
UNSTABLE, SWAPPED_ARGUMENTS = KIND.unstable.title, KIND.swapped_arguments.title


def grade(slug, code, **kw):
    return grade_code(slug, code, **kw)


def test_reference_passes(small_limits):
    result = grade(SLUG, solution("reference"), limits=small_limits)
    assert result.status == "passed", result.feedback
    assert result.score == 1.0
    assert all(c.passed for c in result.checks)
    json.dumps(result.to_dict())


@pytest.mark.parametrize(
    "name",
    [
        "swapped_kl",
        "probs_not_log_probs",
        "reduction_mean",
        "reduction_sum",
        "no_t_squared",
        "t_not_squared",
        "temperature_teacher_only",
        "temperature_student_only",
        "temperature_ignored",
        "soft_cross_entropy",
        "squared_error",
        "alpha_swapped",
        "alpha_ignored",
        "hard_term_with_temperature",
    ],
)
def test_known_mistake_is_named(name, small_limits):
    result = grade(SLUG, solution(name), limits=small_limits, seed=7)
    assert result.status == "failed"
    assert 0 <= result.score < 1
    title = MISTAKES_BY_KEY[name].title
    assert result.mistakes[:1] == [title]
    assert title in result.feedback
    assert "expected" in result.feedback and "got" in result.feedback


def headline(verdict) -> str:
    """What a learner reads first: the feedback up to the checks' summary."""
    return verdict.feedback.split(" checks passed.")[0]


def test_a_loss_that_leaves_detaching_to_the_caller_passes_clean(small_limits):
    # Most public code detaches the teacher in the training loop (torch.no_grad()), not in the loss: not a mistake.
    result = grade(SLUG, solution("not_detached"), limits=small_limits)
    assert result.status == "passed" and result.score == 1.0
    assert result.mistakes == [] and all(c.passed for c in result.checks)
    assert result.feedback == KIND.passed_text
    teacher = next(c for c in result.checks if c.name == "teacher_gradient")
    assert teacher.advisory and "fine" in teacher.message


def test_unstable_softmax_is_named(small_limits):
    result = grade(SLUG, solution("unstable_log_softmax"), limits=small_limits)
    assert result.status == "failed"
    assert result.mistakes[:1] == [UNSTABLE]
    assert headline(result).startswith(f"Likely mistake: {UNSTABLE}.")
    assert "hundreds" in next(c.message for c in result.checks if c.name == "large_logits")


def test_in_place_modification_is_a_tip(small_limits):
    result = grade(SLUG, solution("in_place"), limits=small_limits)
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == ["inputs_unchanged"] and failed[0].advisory
    assert "teacher_logits" in failed[0].message
    assert result.status == "passed" and "Tip: your function modified teacher_logits in place" in result.feedback
    assert result.feedback.startswith(KIND.passed_text)


@pytest.mark.parametrize("name", ["kl_div_arguments_swapped", "kl_div_loss_arguments_swapped"])
def test_swapped_kl_div_arguments_are_named_not_unstable_softmax(name, small_limits):
    # NaN on every input, small logits too: the arguments, not an overflow.
    result = grade(SLUG, solution(name), limits=small_limits, seed=7)
    assert result.status == "failed"
    assert headline(result).startswith(f"Likely mistake: {SWAPPED_ARGUMENTS}.")
    assert result.mistakes == [SWAPPED_ARGUMENTS] and UNSTABLE not in result.feedback


@pytest.mark.parametrize("name", ["no_t_squared_when_alpha_is_one", "no_t_squared_early_return"])
def test_t_squared_missing_in_one_branch_is_named(name, small_limits):
    result = grade(SLUG, solution(name), limits=small_limits, seed=7)
    assert result.status == "failed"
    title = f"{MISTAKES_BY_KEY['no_t_squared'].title} in one branch only"
    assert result.mistakes == [title]
    assert headline(result).startswith(f"Likely mistake: {title}.")
    assert "alpha=1" in headline(result)  # where it showed
    assert {c.name for c in result.checks if not c.passed} == {"soft_term", "gradient"}


def test_two_mistakes_made_together_are_both_named(small_limits):
    result = grade(SLUG, solution("reduction_mean_no_t_squared"), limits=small_limits, seed=7)
    assert result.status == "failed"
    mean, t2 = MISTAKES_BY_KEY["reduction_mean"].title, MISTAKES_BY_KEY["no_t_squared"].title
    assert result.mistakes == [mean, t2]
    assert headline(result).startswith(f"Likely mistake: {mean}.") and f"Also: {t2}." in headline(result)


def test_a_partial_explanation_names_the_mistake_and_what_it_leaves(small_limits):
    # alpha on the wrong term explains every wrong value but those at alpha = 0, where the loss is the bare soft
    # KL: the mistake heads the feedback, and what it does not explain is said as what differed, not guessed.
    result = grade(SLUG, solution("alpha_swapped_bare_kl_at_zero"), limits=small_limits, seed=7)
    assert result.status == "failed"
    assert result.mistakes == [MISTAKES_BY_KEY["alpha_swapped"].title]
    assert headline(result).startswith(f"Likely mistake: {MISTAKES_BY_KEY['alpha_swapped'].title}.")
    rest = result.feedback.split("It does not explain every value: on ", 1)[1]
    assert "alpha=0 the expected loss is" in rest.split(", which no known mistake matches")[0]


def test_advice_never_headlines_a_failed_verdict(small_limits):
    # kl_div(reduction="mean") in a loss that does not detach: the headline is the reduction, and nothing about
    # the teacher (the old headline was "Likely mistake: teacher not detached").
    result = grade(SLUG, solution("reduction_mean_not_detached"), limits=small_limits, seed=7)
    assert result.status == "failed"
    assert headline(result).startswith(f"Likely mistake: {MISTAKES_BY_KEY['reduction_mean'].title}.")
    assert "detach" not in result.feedback


def test_an_unknown_mistake_says_what_differed_without_guessing(small_limits):
    result = grade(SLUG, solution("unknown_mistake"), limits=small_limits, seed=7)
    assert result.status == "failed" and result.mistakes == []
    first = headline(result)
    assert first.startswith("No known mistake matches what your function returned: on a batch of")
    assert "the expected loss is" in first and "yours is" in first
    assert "Likely mistake" not in result.feedback


def test_code_that_raises_is_named_by_exception_and_line(small_limits):
    code = (
        "import torch.nn.functional as F\n"
        "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
        "    if alpha == 0:\n"
        "        raise ValueError('alpha must be positive')\n"
        "    soft = F.kl_div(F.log_softmax(student_logits / temperature, -1),\n"
        "                    F.softmax(teacher_logits / temperature, -1), reduction='batchmean')\n"
        "    return alpha * soft * temperature**2 + (1 - alpha) * F.cross_entropy(student_logits, labels)\n"
    )
    result = grade(SLUG, code, limits=small_limits, seed=7)
    assert result.status == "failed"
    first_line = result.feedback.splitlines()[0]
    assert "(ValueError at line 4)" in first_line and "First failing check, runs" in first_line


def test_exception_shows_learner_traceback_only(small_limits):
    code = (
        "import torch\n"
        "def helper(x):\n"
        "    return x.undefined_method()\n"
        "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
        "    return helper(student_logits)\n"
    )
    result = grade(SLUG, code, limits=small_limits)
    assert result.status == "failed"
    runs = result.checks[0]
    assert not runs.passed
    assert 'File "solution.py", line 5, in distillation_loss' in runs.message
    assert 'File "solution.py", line 3, in helper' in runs.message
    assert "AttributeError" in runs.message
    assert "harness" not in runs.message and "/opt/" not in runs.message


def test_syntax_error_is_failed_with_message(small_limits):
    result = grade(SLUG, "def distillation_loss(:\n    pass\n", limits=small_limits)
    assert result.status == "failed"
    assert "SyntaxError" in result.feedback and "solution.py" in result.feedback
    assert "harness" not in result.feedback


def test_missing_function(small_limits):
    result = grade(SLUG, "def something_else():\n    pass\n", limits=small_limits)
    assert result.status == "failed"
    assert "distillation_loss" in result.feedback


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("return 1.0", "returned a float"),
        ("return torch.zeros(3)", "shape (3,)"),
        ("return torch.tensor(1)", "dtype int64"),
        ("return [torch.tensor(1.0)]", "returned a list"),
        ("class T(torch.Tensor):\n        pass\n    return torch.tensor(1.0).as_subclass(T)", "<locals>.T"),
    ],
)
def test_wrong_return_types(body, fragment, small_limits):
    signature = "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):"
    code = f"import torch\n{signature}\n    {body}\n"
    result = grade(SLUG, code, limits=small_limits)
    assert result.status == "failed"
    check = next(c for c in result.checks if c.name == "returns_scalar_tensor")
    assert not check.passed and fragment in check.message, check.message


def test_deterministic_with_seed(small_limits):
    first = grade(SLUG, solution("swapped_kl"), limits=small_limits, seed=1234)
    second = grade(SLUG, solution("swapped_kl"), limits=small_limits, seed=1234)
    assert first.checks == second.checks
    assert first.feedback == second.feedback


@pytest.mark.parametrize("fresh_pool", [False, True], ids=["cold", "new-pool"])
def test_missing_bwrap_is_infrastructure_error(monkeypatch, small_limits, fresh_pool):
    """Without bwrap neither a cold sandbox nor a new pool's zygote can start: never a learner's verdict."""
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    monkeypatch.setattr(runner.os.path, "exists", lambda path: False)
    pool = SandboxPool(size=1) if fresh_pool else None
    try:
        with pytest.raises(GradingInfrastructureError):
            grade(SLUG, solution("reference"), limits=small_limits, pool=pool)
    finally:
        if pool is not None:
            pool.close()


def test_a_function_that_always_raises_scores_zero(small_limits):
    code = (
        "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
        "    raise ValueError('todo')\n"
    )
    result = grade(SLUG, code, limits=small_limits, seed=3)
    assert result.status == "failed"
    assert result.score == 0.0
    assert not any(check.passed for check in result.checks)


def rendered_verdict(verdict) -> str:
    """The verdict as the learner's page shows it (challenges/_verdict.html): feedback and every check."""
    from django.template.loader import render_to_string

    from challenges.models import Challenge, Submission

    data = verdict.to_dict()
    submission = Submission(
        challenge=Challenge(slug=SLUG, kind=SLUG),
        attempt=1,
        **{k: data[k] for k in ("status", "score", "checks", "feedback", "mistakes", "details")},
    )
    return render_to_string("challenges/_verdict.html", {"submission": submission, "progress": None})


@pytest.mark.parametrize(
    ("name", "mistake"),
    [
        ("swapped_kl", MISTAKES_BY_KEY["swapped_kl"]),  # fails soft_term, combined and large_logits
        ("unstable_log_softmax", KIND.unstable),  # fails large_logits and finite
        ("kl_div_arguments_swapped", KIND.swapped_arguments),  # NaN everywhere
    ],
)
def test_each_named_mistake_is_said_once_in_the_verdict(name, mistake, small_limits):
    verdict = grade(SLUG, solution(name), limits=small_limits, seed=7)
    assert mistake.title in verdict.mistakes
    page = rendered_verdict(verdict)
    assert page.count(mistake.title) == 1, page
    assert page.count("Likely mistake") == 1
    assert verdict.feedback.count(mistake.explanation) == 1
    assert not any(mistake.title in c.message or mistake.explanation in c.message for c in verdict.checks)
