"""What the trusted side asks the sandbox to run, as typed objects (no torch import needed to build them).

A :class:`Case` is one call of the learner's entry point. Its arguments are tensors, JSON scalars or
:class:`ModuleSpec` (a small network the harness builds inside the sandbox from the given weights). Which
gradients to take is said by the case itself, never by magic keys inside the arguments.

The run's :data:`ResultMode` says what comes back:

* :class:`TensorResult`: the entry point returns one tensor; optionally its gradient reaches some inputs.
* :class:`StateDictResult`: the entry point trains a module argument in place; its parameters come back
  as a dict of named tensors (checked outside against the exact names, shapes and dtypes of the module
  the trusted side built), with whatever list of numbers the function returned (a training curve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModuleSpec:
    """A multi-layer perceptron built inside the sandbox: named Linear layers with ReLU between them.

    ``state`` holds every parameter (``<layer>.weight``, ``<layer>.bias``) as a tensor; ``trainable``
    False means frozen (``requires_grad`` off) and in eval mode.
    """

    layers: tuple[tuple[str, int, int], ...]
    state: dict[str, Any]
    trainable: bool = True

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for name, fan_in, fan_out in self.layers:
            shapes[f"{name}.weight"] = (fan_out, fan_in)
            shapes[f"{name}.bias"] = (fan_out,)
        return shapes


@dataclass(frozen=True)
class Case:
    """One call ``entrypoint(**args)``. ``grad``: tensor arguments whose gradient comes back."""

    args: dict[str, Any]
    grad: tuple[str, ...] = ()


@dataclass(frozen=True)
class TensorResult:
    mode: str = "tensor"


@dataclass(frozen=True)
class StateDictResult:
    """The trained state of the module argument ``module``, and the returned series (at most ``series_max``)."""

    module: str
    series_max: int = 5000
    mode: str = "state_dict"


ResultMode = TensorResult | StateDictResult


@dataclass
class CaseOutput:
    index: int
    ok: bool
    # TensorResult: the returned tensor; StateDictResult: the returned series as a 1-D float64 tensor.
    result: Any = None
    result_type: str | None = None  # "Tensor" / "series" when well-formed, else the (untrusted) type name
    grads: dict[str, Any] = field(default_factory=dict)
    inputs_after: dict[str, Any] = field(default_factory=dict)
    backward: str = "not_requested"
    state: dict[str, Any] | None = None  # StateDictResult: the module's parameters after the call
    state_problem: str | None = None  # why ``state`` was refused (wrong names, shapes, dtypes)
    error: dict[str, str] | None = None
    # How long the learner's function took, as the harness measured it (untrusted: for benchmarks only).
    seconds: float = 0.0
