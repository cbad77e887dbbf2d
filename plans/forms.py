from django import forms

from learnpath.validators import form_bounds_apply
from plans.models import DistillationPlan

# The worksheet's sections, in the order the lesson walks through them.
SECTIONS = [
    ("task", "1. Prompt or task", ["title", "task"]),
    (
        "teacher",
        "2. Current teacher, its cost and latency",
        ["teacher_model", "monthly_requests", "teacher_cost_per_request", "teacher_latency_ms"],
    ),
    (
        "student",
        "3. Candidate student",
        ["candidate_student", "student_fallback", "student_cost_per_request", "student_latency_ms"],
    ),
    ("mode", "4. Distillation mode, and why", ["mode", "mode_reason"]),
    ("regime", "5. Offline or online", ["regime", "regime_notes"]),
    (
        "inputs",
        "6. Training inputs: where from, and how many",
        ["inputs_source", "inputs_count", "teacher_outputs_n", "teacher_cost_per_output", "training_cost"],
    ),
    (
        "evaluation",
        "7. Evaluation set and pass threshold",
        ["eval_set", "pass_threshold_percent", "pass_threshold_notes"],
    ),
    (
        "risks",
        "8. Risks",
        [
            "capacity_gap_notes",
            "capacity_gap_resolved",
            "behaviour_transfer_notes",
            "behaviour_transfer_resolved",
            "terms_of_use_notes",
            "terms_of_use_resolved",
        ],
    ),
]
FIELDS = [name for _, _, names in SECTIONS for name in names]
MONEY_FIELDS = {"teacher_cost_per_request", "student_cost_per_request", "teacher_cost_per_output", "training_cost"}
COUNT_FIELDS = {"monthly_requests", "teacher_latency_ms", "student_latency_ms", "inputs_count", "teacher_outputs_n"}


class PlanForm(forms.ModelForm):
    class Meta:
        model = DistillationPlan
        fields = FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.Textarea):
                widget.attrs.update(rows=3)
            if name in MONEY_FIELDS or name == "pass_threshold_percent":
                widget.attrs.update(step="any", min="0", inputmode="decimal")
            elif name in COUNT_FIELDS:
                widget.attrs.update(step="1", min="0", inputmode="numeric")
            if name in MONEY_FIELDS or name in COUNT_FIELDS:
                widget.attrs["data-calc-input"] = name
        self.fields["mode"].choices = [("", "Choose a mode…"), *DistillationPlan.Mode.choices]
        self.fields["regime"].choices = [("", "Choose…"), *DistillationPlan.Regime.choices]
        self.fields["title"].widget.attrs.setdefault("autocomplete", "off")
        form_bounds_apply(self)

    def sections(self):
        return [(key, legend, [self[name] for name in names]) for key, legend, names in SECTIONS]
