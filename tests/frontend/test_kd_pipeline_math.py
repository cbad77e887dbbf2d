"""The pipeline demo's maths (drops/static/drops/kd-math.js) agrees with PyTorch float64.

The demo shows a student's logits moving under gradient steps on the platform's loss,
L = α · T² · KL(p_T ‖ q_T) + (1 − α) · CE(student, label), term by term. Here the same
loss is written the way the lessons' PyTorch code writes it (F.kl_div with batchmean,
F.cross_entropy), differentiated by autograd and stepped with torch.optim.SGD, and the
JavaScript's terms, closed-form gradient and trajectory must match.
"""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.frontend

RTOL = 1e-9
ATOL = 1e-11

RUNNER = r"""
import { distillationLoss, distillationGradient, distillSteps, crossEntropy } from "./kd-math.mjs";
const out = (await readCases()).map(({ teacher, student, label, T, alpha, lr, steps }) => ({
  loss: distillationLoss(teacher, student, label, T, alpha),
  ce: crossEntropy(student, label),
  grad: distillationGradient(teacher, student, label, T, alpha),
  run: distillSteps(teacher, student, label, { T, alpha, lr, steps }),
}));
process.stdout.write(JSON.stringify(out));
"""


def torch_loss(teacher: torch.Tensor, student: torch.Tensor, label: int, T: float, alpha: float):
    """The lessons' PyTorch loss for a batch of one: returns (soft, hard, total) as tensors."""
    soft = (
        F.kl_div(
            F.log_softmax(student[None] / T, dim=-1),
            F.softmax(teacher[None].detach() / T, dim=-1),
            reduction="batchmean",
        )
        * T**2
    )
    hard = F.cross_entropy(student[None], torch.tensor([label]))
    return soft, hard, alpha * soft + (1 - alpha) * hard


def torch_reference(case: dict) -> dict:
    teacher = torch.tensor(case["teacher"], dtype=torch.float64)
    student = torch.tensor(case["student"], dtype=torch.float64, requires_grad=True)
    soft, hard, total = torch_loss(teacher, student, case["label"], case["T"], case["alpha"])
    (grad,) = torch.autograd.grad(total, student)
    first = {"soft": soft.item(), "hard": hard.item(), "total": total.item(), "grad": grad.tolist()}

    optimizer = torch.optim.SGD([student], lr=case["lr"])
    history = []
    for _ in range(case["steps"]):
        optimizer.zero_grad()
        soft, hard, total = torch_loss(teacher, student, case["label"], case["T"], case["alpha"])
        history.append((soft.item(), hard.item(), total.item()))
        total.backward()
        optimizer.step()
    with torch.no_grad():
        soft, hard, total = torch_loss(teacher, student, case["label"], case["T"], case["alpha"])
    history.append((soft.item(), hard.item(), total.item()))
    return {**first, "history": history, "logits": student.detach().tolist()}


@pytest.fixture
def run_pipeline(kd_math_node):
    return lambda cases: kd_math_node(RUNNER, cases)


def close(actual: float, expected: float, scale: float = 1.0) -> bool:
    return abs(actual - expected) <= ATOL * scale + RTOL * abs(expected)


# The drop "One loss, two terms": teacher [5, 2, 1, -2], student [3, 2.5, 0.5, -1], class 0, T = 4.
LESSON = {"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "label": 0, "T": 4.0, "lr": 0.5, "steps": 0}


def random_cases(seed: int = 20261202, count: int = 120) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        n = rng.choice([2, 3, 4, 10, 50])
        scale = rng.choice([0.5, 3.0, 10.0, 40.0])
        cases.append(
            {
                "teacher": [rng.uniform(-scale, scale) for _ in range(n)],
                "student": [rng.uniform(-scale, scale) for _ in range(n)],
                "label": rng.randrange(n),
                "T": rng.uniform(0.5, 10.0),
                "alpha": [0.0, 1.0, 0.5, rng.random()][i % 4],
                "lr": rng.choice([0.05, 0.1, 0.5, 1.0]),
                "steps": rng.choice([0, 1, 5, 25, 60]),
            }
        )
    return cases


def test_the_lessons_worked_example(run_pipeline):
    at_half, at_seven = run_pipeline([{**LESSON, "alpha": 0.5}, {**LESSON, "alpha": 0.7}])
    assert round(at_half["loss"]["soft"], 4) == 0.7128
    assert round(at_half["loss"]["hard"], 4) == 0.5347
    assert round(at_half["loss"]["total"], 4) == 0.6237
    assert round(at_seven["loss"]["total"], 4) == 0.6594
    assert at_half["ce"] == at_half["loss"]["hard"]


@pytest.mark.parametrize(
    "label, cases", [("lesson", [{**LESSON, "alpha": 0.5, "steps": 40}]), ("random", random_cases())]
)
def test_terms_gradient_and_steps_match_pytorch(run_pipeline, label, cases):
    results = run_pipeline(cases)
    assert len(results) == len(cases)
    for case, got in zip(cases, results):
        ref = torch_reference(case)
        where = f"{label} n={len(case['teacher'])} T={case['T']:.2f} α={case['alpha']:.2f} steps={case['steps']}"
        t2 = case["T"] ** 2
        assert close(got["loss"]["soft"], ref["soft"], t2), f"{where}: soft {got['loss']['soft']} vs {ref['soft']}"
        assert close(got["loss"]["hard"], ref["hard"]), f"{where}: hard {got['loss']['hard']} vs {ref['hard']}"
        assert close(got["loss"]["total"], ref["total"], t2), f"{where}: total"
        assert all(close(a, b, case["T"]) for a, b in zip(got["grad"], ref["grad"], strict=True)), (
            f"{where}: gradient {got['grad'][:4]} vs autograd {ref['grad'][:4]}"
        )
        history = got["run"]["history"]
        assert len(history) == case["steps"] + 1
        # Steps compound rounding; the scale allows for it while staying far below any visible difference.
        scale = t2 * (1 + case["steps"]) * 10
        for step, (mine, (soft, hard, total)) in enumerate(zip(history, ref["history"], strict=True)):
            assert close(mine["soft"], soft, scale) and close(mine["hard"], hard, scale), f"{where}: step {step}"
            assert close(mine["total"], total, scale), f"{where}: total at step {step}"
        assert all(close(a, b, scale) for a, b in zip(got["run"]["logits"], ref["logits"], strict=True)), (
            f"{where}: logits after the steps differ"
        )


def test_steps_pull_the_student_towards_what_alpha_asks_for(run_pipeline):
    """α = 1 follows the teacher's soft labels only; α = 0 the hard label only."""
    base = {"teacher": [5, 2, 1, -2], "student": [0, 0, 0, 0], "label": 1, "T": 4.0, "lr": 1.0, "steps": 200}
    soft_only, hard_only = run_pipeline([{**base, "alpha": 1.0}, {**base, "alpha": 0.0}])

    def top(logits):
        return max(range(len(logits)), key=logits.__getitem__)

    assert top(soft_only["run"]["logits"]) == 0  # the teacher's favourite
    assert top(hard_only["run"]["logits"]) == 1  # the labelled class
    assert soft_only["run"]["history"][-1]["soft"] < 1e-3 * soft_only["run"]["history"][0]["soft"]
    totals = [h["total"] for h in hard_only["run"]["history"]]
    assert all(b <= a + 1e-15 for a, b in zip(totals, totals[1:])), "plain descent at this rate never goes up"
    assert math.isclose(soft_only["loss"]["total"], soft_only["loss"]["soft"])


def test_rejects_bad_input(kd_math_node):
    thrown = kd_math_node(
        'import { distillationLoss, distillSteps, crossEntropy } from "./kd-math.mjs";\n'
        "const t = [1, 2, 3], s = [0, 0, 0];\n"
        "const bad = [() => crossEntropy(s, 3), () => crossEntropy(s, 1.5), () => distillationLoss(t, s, 0, 1, 1.5),\n"
        "  () => distillationLoss(t, [0, 0], 0, 1, 0.5), () => distillationLoss(t, s, 0, 0, 0.5),\n"
        "  () => distillSteps(t, s, 0, { T: 1, alpha: 0.5, lr: 0, steps: 3 }),\n"
        "  () => distillSteps(t, s, 0, { T: 1, alpha: 0.5, lr: 0.1, steps: 2.5 }),\n"
        "  () => distillSteps(t, s, 0, { T: 1, alpha: 0.5, lr: 0.1, steps: 20000 })];\n"
        "let thrown = 0;\n"
        "for (const f of bad) {\n"
        "  try { f(); } catch (e) { if (e instanceof RangeError || e instanceof TypeError) thrown++; }\n"
        "}\n"
        "process.stdout.write(String(thrown));\n"
    )
    assert thrown == "8"
