"""Challenge kinds: the registry every process reads (web, content check, workers), importable without torch.

A challenge file names its ``kind``. The kind is the one piece of trusted code that knows how to draw
hidden cases, what the learner's function returns, how to check it and which mistakes to name; everything
generic (the sandbox run, the mapping of timeouts and crashes to verdicts, feedback, limits) lives once in
:mod:`challenges.kinds.grader`. Each :class:`KindInfo` here is the torch-free half of a kind: its name, the
entry point's parameters, what it returns, its default limits and the options an author may set. The other
half, the module that draws and checks, is imported only where grading happens.

A new challenge of an existing kind is content only (``content/challenges/<slug>/``); a new kind is one
module, one entry below and its tests.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from challenges.kinds.grader import ChallengeKind

# Shared by every kind: their code is part of every grader's version.
SHARED_SOURCES = ("challenges.kinds.grader", "workers.sandbox.harness", "workers.sandbox.cases")


@dataclass(frozen=True)
class KindInfo:
    name: str
    module: str  # the trusted implementation, imported lazily
    parameters: tuple[str, ...]  # the entry point's parameters, in order
    returns: str  # "tensor" | "state_dict": the harness's result mode
    summary: str
    limits: dict = field(default_factory=dict)  # defaults for this kind; a challenge's own limits override
    options: dict[str, type | tuple[type, ...]] = field(default_factory=dict)  # what challenge.yaml may set
    # Seconds of trusted work around the sandbox run (drawing cases, references, evaluation), for grading and
    # for "Run on examples" alike: part of the task's time budget, which both tasks get.
    checks_seconds: float = 15.0
    sources: tuple[str, ...] = ()  # further modules whose code makes up this kind's grader
    # The kind has visible example cases (ChallengeKind.examples): the page offers "Run on examples".
    examples: bool = False
    # What the page's examples panel says about them, above the results.
    examples_note: str = ""

    def source_modules(self) -> tuple[str, ...]:
        return (*SHARED_SOURCES, *self.sources, self.module)


KINDS: dict[str, KindInfo] = {
    info.name: info
    for info in (
        KindInfo(
            name="distillation-loss",
            module="challenges.kinds.distillation_loss",
            parameters=("student_logits", "teacher_logits", "labels", "temperature", "alpha"),
            returns="tensor",
            summary="Write the two-term loss alpha·T²·KL(teacher ‖ student) + (1 − alpha)·CE for (batch, classes)",
            limits={"cpu_seconds": 20, "wall_seconds": 40, "memory_mb": 1536},
            sources=("challenges.kinds.loss",),
            examples=True,
            examples_note=(
                "A few fixed inputs, the same for everyone: not the hidden ones, and not an attempt. The expected "
                "values come from the platform's reference."
            ),
        ),
        KindInfo(
            name="sequence-distillation-loss",
            module="challenges.kinds.sequence_distillation_loss",
            parameters=("student_logits", "teacher_logits", "attention_mask", "temperature"),
            returns="tensor",
            summary="Write the per-token T²·KL(teacher ‖ student) over padded batches, averaged over real tokens only",
            limits={"cpu_seconds": 20, "wall_seconds": 40, "memory_mb": 2048},
            sources=("challenges.kinds.loss",),
            examples=True,
            examples_note=(
                "A few fixed inputs, the same for everyone: not the hidden ones, and not an attempt. The expected "
                "values come from the platform's reference."
            ),
        ),
        KindInfo(
            name="train-student",
            module="challenges.kinds.train_student",
            parameters=("student", "teacher", "transfer_x", "labeled_x", "labeled_y", "device"),
            returns="state_dict",
            summary="Train the fixed 64→32→10 student on the digits; its weights are scored on a hidden test set",
            limits={"cpu_seconds": 45, "wall_seconds": 90, "memory_mb": 2048},
            options={"min_accuracy": float, "min_agreement": float},
            checks_seconds=30.0,
            sources=("challenges.digits",),
            examples=True,
            examples_note=(
                "One fixed training run, the same for everyone and not an attempt: your function trains the student "
                "on public digits, and the platform scores it on 200 validation images held out of that data. "
                "Grading uses a fresh draw and a hidden test set that examples never touch, so these figures are "
                "an estimate of your grade, not the grade."
            ),
        ),
    )
}

KIND_CHOICES = sorted(KINDS)


def kind_info(name: str) -> KindInfo:
    """The registered kind ``name``; KeyError for an unknown one."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown challenge kind {name!r} (known: {', '.join(sorted(KINDS))})") from None


def load_kind(name: str) -> ChallengeKind:
    """The trusted implementation of kind ``name`` (imports torch)."""
    info = kind_info(name)
    return importlib.import_module(info.module).KIND


@cache
def _source_digest(module: str) -> str:
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"no source for {module}")
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def grader_version(kind: str, challenge_file_digest: str) -> str:
    """A content hash of the kind's code and of the challenge's file: equal versions grade alike."""
    digest = hashlib.sha256()
    for module in kind_info(kind).source_modules():
        digest.update(f"{module}:{_source_digest(module)}\n".encode())
    digest.update(f"challenge:{challenge_file_digest}\n".encode())
    return digest.hexdigest()[:16]
