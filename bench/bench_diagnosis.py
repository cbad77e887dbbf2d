"""What naming a wrong loss costs the trusted side: the loss kinds' diagnosis (``LossKind._diagnose``).

A wrong answer is matched against every candidate formula of its kind on every ordinary probe (83 for the
sequence loss, on 13 probes, one with a 32,000-token vocabulary). Three variants, measured in the same run on
the same inputs, as CPU seconds of this process and wall seconds:

- ``one thread, shared``: what grading does (``grader.trusted_work``; the sequence kind computes each per-token
  divergence once per probe, ``SequenceDistillationLoss.candidate_values``);
- ``one thread, per candidate``: every formula computed on its own (``LossKind.candidate_values``);
- ``two threads, shared``: torch's default here, which grading no longer uses.

The inputs are real code from the corpus (``tests/grading/realworld``), run in this process on the kind's
hidden probes for a few seeds. Run by hand: ``.venv/bin/python -m bench bench_diagnosis``. Prints figures,
asserts nothing about time.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "grading" / "realworld"
CASES = (
    ("sequence-distillation-loss", "openrlhf_kd_loss.py"),  # three mistakes together
    ("sequence-distillation-loss", "trl_gkd_default_beta.py"),  # GKD's JSD, no T²
    ("sequence-distillation-loss", "distillkit_max_length.py"),  # averaged over padding
    ("distillation-loss", "torchdistill_kdloss_alpha_as_given.py"),  # a partial explanation
)
SEEDS = (1, 2, 3)


def _entry(slug: str, file: str):
    spec = importlib.util.spec_from_file_location(f"corpus_{file[:-3]}", CORPUS / slug / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, slug.replace("-", "_"))


def _inputs(kind, entry, seed: int):
    drawn = kind.draw(seed, None, "cpu")
    values = [float(entry(*[d.inputs[p] for p in kind.info.parameters])) for d in drawn]
    return drawn, values, [kind.expected(d) for d in drawn]


def _timed(kind, drawn, values, wanted, *, threads: int, shared: bool) -> tuple[float, float]:
    import torch

    from challenges.kinds.loss import LossKind

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    if not shared:
        kind.candidate_values = LossKind.candidate_values.__get__(kind)  # the base class's, per candidate
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        kind._diagnose(drawn, values, wanted)
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        vars(kind).pop("candidate_values", None)
        torch.set_num_threads(before)


def main() -> None:
    import torch

    from challenges.kinds import load_kind

    variants = (
        ("one thread, shared", 1, True),
        ("one thread, per candidate", 1, False),
        ("two threads, shared", 2, True),
    )
    print(f"torch {torch.__version__}; median over seeds {', '.join(map(str, SEEDS))}; CPU s / wall s\n")
    print(f"| case | {' | '.join(name for name, _, _ in variants)} |")
    print(f"| --- |{' --- |' * len(variants)}")
    for slug, file in CASES:
        kind = load_kind(slug)
        entry = _entry(slug, file)
        runs = {name: [] for name, _, _ in variants}
        for seed in SEEDS:
            drawn, values, wanted = _inputs(kind, entry, seed)
            for name, threads, shared in variants:
                runs[name].append(_timed(kind, drawn, values, wanted, threads=threads, shared=shared))
        cells = []
        for name, _, _ in variants:
            cpu = statistics.median(c for c, _ in runs[name])
            wall = statistics.median(w for _, w in runs[name])
            cells.append(f"{cpu:.3f} / {wall:.3f}")
        print(f"| {slug}: {file[:-3]} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
