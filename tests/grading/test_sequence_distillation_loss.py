"""Challenge sequence-distillation-loss through the kind protocol and the real sandbox."""

import pytest

from challenges.kinds import load_kind
from tests.fixtures.sandbox import active_pool
from tests.grading.conftest import grade_code, solution, target

pytestmark = pytest.mark.sandbox

SLUG = "sequence-distillation-loss"
KIND = load_kind(SLUG)
TITLES = {m.key: m.title for m in KIND.mistakes}


def failed_checks(verdict) -> set[str]:
    return {c.name for c in verdict.checks if not c.passed}


def test_reference_passes():
    verdict = grade_code(SLUG, solution("reference", SLUG), seed=1)
    assert verdict.status == "passed", verdict.feedback
    assert {c.name for c in verdict.checks} >= {
        "padding_ignored", "length_invariant", "padded_gradients_zero", "single_token_rows", "large_vocabulary",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "also_failing"),
    [
        ("mean_over_padding", {"padding_ignored", "length_invariant", "padded_gradients_zero"}),
        ("batch_size_only", {"ragged_batches"}),
        ("masked_logits", {"length_invariant"}),
        ("no_t_squared", {"ragged_batches"}),
        ("swapped_kl", {"ragged_batches"}),
        ("mean_of_sequence_means", {"ragged_batches"}),
        ("soft_cross_entropy", {"ragged_batches", "single_token_rows", "large_vocabulary"}),
        ("generalized_jsd", {"ragged_batches", "single_token_rows", "large_vocabulary"}),
        ("softmax_over_sequence_axis", {"ragged_batches", "padding_ignored", "padded_gradients_zero"}),
    ],
)
def test_known_mistake_is_named(name, also_failing):
    verdict = grade_code(SLUG, solution(name, SLUG), seed=7)
    assert verdict.status == "failed"
    assert verdict.mistakes[:1] == [TITLES[name]]
    assert verdict.feedback.startswith(f"Likely mistake: {TITLES[name]}.")
    assert also_failing <= failed_checks(verdict), failed_checks(verdict)
    # The explanation is told once, in the feedback, not in every failing check.
    explanation = next(m.explanation for m in KIND.mistakes if m.key == name)
    assert verdict.feedback.count(explanation) == 1
    assert not any(explanation in c.message for c in verdict.checks)


def test_padding_mistake_says_what_changed():
    verdict = grade_code(SLUG, solution("mean_over_padding", SLUG), seed=2)
    message = next(c.message for c in verdict.checks if c.name == "padding_ignored")
    assert "changing the padded logits changed your loss from" in message


def test_unstable_log_softmax_is_named():
    verdict = grade_code(SLUG, solution("unstable_log_softmax", SLUG), seed=3)
    assert verdict.status == "failed"
    assert KIND.unstable.title in verdict.mistakes
    assert "large_logits" in failed_checks(verdict) and "ragged_batches" not in failed_checks(verdict)


def test_per_sequence_means_pass_where_rows_are_equally_long():
    # The mean of per-sequence means is right when every row has as many real tokens: only ragged rows show it.
    verdict = grade_code(SLUG, solution("mean_of_sequence_means", SLUG), seed=7)
    assert {"padding_ignored", "length_invariant", "padded_gradients_zero"}.isdisjoint(failed_checks(verdict))


def test_swapped_kl_div_arguments_are_not_an_unstable_softmax():
    verdict = grade_code(SLUG, solution("kl_div_arguments_swapped", SLUG), seed=5)
    assert verdict.status == "failed"
    assert verdict.mistakes == [KIND.swapped_arguments.title]
    assert verdict.feedback.startswith(f"Likely mistake: {KIND.swapped_arguments.title}.")


def test_teacher_gradient_is_not_a_mistake_and_in_place_edits_are_tips():
    # The loss need not detach the teacher: the training loop usually does. A clean pass, no advice.
    verdict = grade_code(SLUG, solution("not_detached", SLUG), seed=4)
    assert failed_checks(verdict) == set() and verdict.mistakes == []
    assert verdict.status == "passed" and verdict.feedback == KIND.passed_text
    verdict = grade_code(SLUG, solution("in_place", SLUG), seed=4)
    assert failed_checks(verdict) == {"inputs_unchanged"} and verdict.status == "passed"
    assert "Tip: " in verdict.feedback and "Advice" not in verdict.feedback


def test_every_mask_dtype_is_exercised():
    dtypes = {str(inputs["attention_mask"].dtype) for _, inputs in KIND.draw_inputs(0)}
    assert dtypes == {"torch.int64", "torch.bool", "torch.float32"}
    vocabularies = {inputs["student_logits"].shape[-1] for _, inputs in KIND.draw_inputs(0)}
    assert max(vocabularies) >= 30_000


def test_examples_are_fixed_visible_and_checked_outside():
    from challenges.kinds.examples import run_examples

    report = run_examples(target(SLUG), solution("mean_over_padding", SLUG), pool=active_pool())
    assert report.status == "ran"
    variants = [e["description"] for e in report.examples]
    assert any("new padded logits" in d for d in variants) and any("longer" in d for d in variants)
    ragged = [e for e in report.examples if "real tokens per row: 4, 2" in e["description"]]
    # Averaging over padding shows on the ragged example and its re-padded variants, not on a full row.
    assert ragged and not any(e["matches"] for e in ragged)
    assert [
        e["expected"] for e in run_examples(target(SLUG), solution("reference", SLUG), pool=active_pool()).examples
    ] == [e["expected"] for e in report.examples]
    # The examples are never one of the hidden draws.
    hidden = {tuple(inputs["student_logits"].shape) for _, inputs in KIND.draw_inputs(0)}
    assert not hidden & {tuple(inputs["student_logits"].shape) for _, inputs in KIND.example_inputs()}


def test_several_mistakes_made_together_are_all_named():
    """OpenRLHF's and LMOps's KD loss: the per-token soft cross-entropy, with no temperature and no T²."""
    code = solution("soft_cross_entropy", SLUG).replace("/ T,", ",").replace(" * T**2", "")
    verdict = grade_code(SLUG, code, seed=7)
    assert verdict.mistakes == [TITLES["soft_cross_entropy"], TITLES["temperature_ignored"], TITLES["no_t_squared"]]
    assert verdict.feedback.startswith(f"Likely mistake: {TITLES['soft_cross_entropy']}.")
    assert f"Also: {TITLES['temperature_ignored']}." in verdict.feedback
