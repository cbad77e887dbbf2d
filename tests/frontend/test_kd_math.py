"""drops/static/drops/kd-math.js agrees with PyTorch float64.

The lessons' temperature demo computes softmax at temperature T, KL(teacher‖student)
and the distillation soft loss T²·KL in the browser. Those numbers are shown to
learners next to the PyTorch code they write in the challenges, so they must be the
same numbers PyTorch gives, including at extreme logits where a naive exp()
overflows.
"""

import math
import random

import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.frontend

RTOL = 1e-9
ATOL_PROB = 1e-15
ATOL_KL = 1e-12

# Node runner: reads the cases sent on stdin and prints the module's results.
RUNNER = r"""
import { softmax, klDivergence, kdSoftLoss, klDivergenceFromLogits } from "./kd-math.mjs";
const cases = await readCases();
const enc = (x) => (Number.isFinite(x) ? x : String(x));
const out = cases.map(({ teacher, student, T }) => {
  const p = softmax(teacher, T);
  const q = softmax(student, T);
  return {
    p,
    q,
    kl_probs: enc(klDivergence(p, q)),
    kl_logits: enc(klDivergenceFromLogits(teacher, student, T)),
    kd: enc(kdSoftLoss(teacher, student, T)),
  };
});
process.stdout.write(JSON.stringify(out));
"""


def _torch_reference(teacher, student, T):
    t = torch.tensor([teacher], dtype=torch.float64)
    s = torch.tensor([student], dtype=torch.float64)
    p = F.softmax(t / T, dim=-1)
    q = F.softmax(s / T, dim=-1)
    kl = F.kl_div(F.log_softmax(s / T, dim=-1), p, reduction="batchmean").item()
    # KL of the probability vectors themselves (what klDivergence(p, q) receives),
    # with the 0·log 0 = 0 convention where both underflowed to 0 (kl_div on
    # q.log() would give 0·(−inf) = NaN there).
    terms = torch.where(p > 0, p * (p.log() - q.log()), torch.zeros_like(p))
    kl_probs = terms.sum().item()
    return p[0].tolist(), q[0].tolist(), kl_probs, kl, kl * T * T


@pytest.fixture
def run_kd_math(kd_math_node):
    return lambda cases: kd_math_node(RUNNER, cases)


def _num(x):
    return float(x) if isinstance(x, str) else x


def _close(actual, expected, atol):
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return abs(actual - expected) <= atol + RTOL * abs(expected)


def _random_cases(seed=20240607, count=400):
    rng = random.Random(seed)
    sizes = [2, 3, 4, 10, 100, 1000]
    scales = [0.1, 1.0, 5.0, 30.0, 100.0, 300.0]
    cases = []
    for i in range(count):
        n = sizes[i % len(sizes)] if i % 3 else rng.randint(2, 1000)
        scale = rng.choice(scales)
        teacher = [rng.uniform(-scale, scale) for _ in range(n)]
        if rng.random() < 0.2:
            # A student close to the teacher: KL near zero, where cancellation bites.
            student = [x + rng.gauss(0, 1e-3) for x in teacher]
        else:
            student = [rng.uniform(-scale, scale) for _ in range(n)]
        T = rng.uniform(0.5, 10.0)
        cases.append({"teacher": teacher, "student": student, "T": T})
    return cases


EDGE_CASES = [
    # The fact-sheet email classifier: spam, promotions, social, primary.
    {"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "T": 1.0},
    {"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "T": 4.0},
    {"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "T": 0.5},
    {"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "T": 10.0},
    # Extremes: exp(600) overflows a naive softmax; exp(-1200) underflows to 0.
    {"teacher": [300, -300], "student": [-300, 300], "T": 0.5},
    {"teacher": [300, -300, 0], "student": [300, -300, 0], "T": 0.5},
    {"teacher": [300, 299.5, -300], "student": [-300, 300, 299], "T": 10.0},
    {"teacher": [300.0] * 5, "student": [-300.0] * 5, "T": 3.0},  # uniform both: KL 0
    {"teacher": [1e-12, 0.0], "student": [0.0, 1e-12], "T": 0.5},
    {"teacher": [0, 0], "student": [0, 0], "T": 1.0},
    {"teacher": [7, 7, 1], "student": [1, 7, 7], "T": 2.0},  # ties
    {
        "teacher": [-300 + 0.6 * i for i in range(1000)],
        "student": [300 - 0.6 * i for i in range(1000)],
        "T": 0.5,
    },
    {
        "teacher": [float(i % 7) for i in range(1000)],
        "student": [float(i % 5) for i in range(1000)],
        "T": 10.0,
    },
]


def test_fact_sheet_values(run_kd_math):
    at_t1, at_t4 = run_kd_math(EDGE_CASES[:2])
    assert round(_num(at_t1["kl_logits"]), 4) == 0.3233
    assert round(_num(at_t4["kd"]), 4) == 0.7128
    assert at_t1["p"][0] == pytest.approx(0.9354, abs=5e-5)


@pytest.mark.parametrize("label, cases", [("edge", EDGE_CASES), ("random", _random_cases())])
def test_matches_pytorch_float64(run_kd_math, label, cases):
    results = run_kd_math(cases)
    assert len(results) == len(cases)
    for case, got in zip(cases, results):
        p, q, kl_probs, kl, kd = _torch_reference(case["teacher"], case["student"], case["T"])
        where = f"{label} case n={len(case['teacher'])} T={case['T']:.3f}"
        for name, mine, ref in (("teacher", got["p"], p), ("student", got["q"], q)):
            assert len(mine) == len(ref)
            assert all(math.isfinite(x) and x >= 0 for x in mine), f"{where}: {name} softmax not finite"
            assert math.fsum(mine) == pytest.approx(1.0, abs=1e-12), f"{where}: {name} softmax sum"
            bad = [i for i, (a, b) in enumerate(zip(mine, ref)) if not _close(a, b, ATOL_PROB)]
            assert not bad, (
                f"{where}: {name} softmax differs at {bad[:5]}: "
                f"{[mine[i] for i in bad[:3]]} vs {[ref[i] for i in bad[:3]]}"
            )
        assert _close(_num(got["kl_logits"]), kl, ATOL_KL), f"{where}: KL {got['kl_logits']} vs torch {kl}"
        assert _close(_num(got["kd"]), kd, ATOL_KL * case["T"] ** 2), f"{where}: T²·KL {got['kd']} vs torch {kd}"
        if math.isfinite(kl_probs):
            assert _close(_num(got["kl_probs"]), kl_probs, ATOL_KL), (
                f"{where}: klDivergence(p, q) {got['kl_probs']} vs torch {kl_probs}"
            )
        else:
            # q underflowed to exactly 0 where p > 0: both say Infinity.
            assert _num(got["kl_probs"]) == math.inf, f"{where}: expected Infinity, got {got['kl_probs']}"


def test_temperature_flattens_the_distribution(run_kd_math):
    temps = [0.5, 1, 2, 4, 10]
    results = run_kd_math([{"teacher": [5, 2, 1, -2], "student": [3, 2.5, 0.5, -1], "T": T} for T in temps])
    max_probs = [max(r["p"]) for r in results]
    assert max_probs == sorted(max_probs, reverse=True)
    assert max_probs[0] > 0.99 and max_probs[-1] < 0.4


def test_rejects_bad_input(kd_math_node):
    thrown = kd_math_node(
        'import { softmax, kdSoftLoss } from "./kd-math.mjs";\n'
        "const bad = [() => softmax([1, 2], 0), () => softmax([1, 2], -1), () => softmax([], 1),\n"
        "  () => softmax([1, NaN], 1), () => kdSoftLoss([1, 2], [1, 2, 3], 1)];\n"
        "let thrown = 0;\n"
        "for (const f of bad) { try { f(); } catch { thrown++; } }\n"
        "process.stdout.write(String(thrown));\n"
    )
    assert thrown == "5"
