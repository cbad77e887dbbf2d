"""Trusted side of the code challenges: inputs, references, checks and feedback (no Django)."""

from challenges.grading.base import GRADERS, Check, GradeResult, GradingInfrastructureError, grade

__all__ = ["GRADERS", "Check", "GradeResult", "GradingInfrastructureError", "grade"]
