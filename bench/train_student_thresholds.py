"""The train-student thresholds against the platform's own draw: reference and labels-only, over many seeds.

Run by hand: ``.venv/bin/python -m bench.train_student_thresholds [seeds]``. Trains in this process (no
sandbox: the sandbox adds no arithmetic) on exactly the data, transform, teacher and initial student that
``challenges.kinds.train_student`` draws for each seed, and prints the worst margins. docs/challenges.md
quotes its output.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from challenges import digits
from challenges.kinds import train_student as kind

REFERENCE = Path(__file__).resolve().parents[1] / "content" / "challenges" / "train-student" / "solution.py"


def _solution():
    namespace: dict = {}
    exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), namespace)
    return namespace["train_student"]


def _run(seed: int, train) -> tuple[float, float, float, float]:
    args, hidden = kind.draw_task(seed)
    student = digits.Student()
    student.load_state_dict(hidden.initial)
    teacher = hidden.teacher
    teacher.requires_grad_(False)
    with digits.deterministic(seed % (2**31)):
        started = time.process_time()
        train(student, teacher, args["transfer_x"], args["labeled_x"], args["labeled_y"], "cpu")
        cpu = time.process_time() - started
    teacher_predictions = digits.predict(teacher, hidden.x_eval)
    accuracy, agreement = kind._scores(student, hidden, teacher_predictions)
    teacher_accuracy = (teacher_predictions == hidden.y_eval).float().mean().item()
    return accuracy, agreement, teacher_accuracy, cpu


def _labels_only(student, teacher, transfer_x, labeled_x, labeled_y, device):
    optimiser = torch.optim.Adam(student.parameters(), lr=digits.STUDENT_LR)
    for _ in range(digits.STUDENT_STEPS):
        loss = torch.nn.functional.cross_entropy(student(labeled_x), labeled_y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


def main(seeds: int = 20) -> None:
    reference = _solution()
    rows = {"reference": [], "labels only": []}
    for seed in range(seeds):
        rows["reference"].append(_run(seed, reference))
        rows["labels only"].append(_run(seed, _labels_only))
    thresholds = f"accuracy >= {kind.MIN_ACCURACY:.1%}, agreement >= {kind.MIN_AGREEMENT:.1%}"
    print(f"seeds 0..{seeds - 1}; thresholds: {thresholds}")
    for name, results in rows.items():
        acc = [r[0] for r in results]
        agree = [r[1] for r in results]
        above = [r[0] - r[2] for r in results]
        cpu = [r[3] for r in results]
        print(
            f"{name:<12} accuracy {min(acc):.1%} / {statistics.median(acc):.1%} / {max(acc):.1%}   "
            f"agreement {min(agree):.1%} / {statistics.median(agree):.1%} / {max(agree):.1%}   "
            f"max above teacher {max(above):+.1%}   median CPU s {statistics.median(cpu):.2f}"
        )
    ref, base = rows["reference"], rows["labels only"]
    ref_acc, ref_agree = min(r[0] for r in ref), min(r[1] for r in ref)
    base_acc, base_agree = max(r[0] for r in base), max(r[1] for r in base)
    print(
        f"margins: reference worst accuracy {ref_acc - kind.MIN_ACCURACY:+.1%}, agreement "
        f"{ref_agree - kind.MIN_AGREEMENT:+.1%}; labels-only best accuracy {base_acc - kind.MIN_ACCURACY:+.1%}, "
        f"agreement {base_agree - kind.MIN_AGREEMENT:+.1%}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
