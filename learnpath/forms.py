from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from learnpath import selectors, services
from learnpath.models import READ_AHEAD_MAX, READ_AHEAD_MESSAGE, RETENTION_MAX, RETENTION_MIN, LearnerProfile, Path
from learnpath.timezones import TimezoneSelect, timezone_choices
from learnpath.validators import (
    USERNAME_HELP,
    USERNAME_INVALID,
    USERNAME_MAX_LENGTH,
    USERNAME_PATTERN,
    form_bounds_apply,
)


def timezone_field(**kwargs) -> forms.ChoiceField:
    """The searchable, grouped timezone picker; the server still checks the name (validate_timezone)."""
    return forms.ChoiceField(choices=timezone_choices, widget=TimezoneSelect, **kwargs)


# The rows of the settings page's workload table, in percent; the learner's own value is added when it is not one.
WORKLOAD_RETENTIONS = (70, 80, 85, 90, 95, 97)
# The card the table follows: one FSRS would bring back after this many days at 90% retention.
WORKLOAD_STABILITY_DAYS = 10


class SignupForm(forms.Form):
    username = forms.RegexField(
        regex=USERNAME_PATTERN,
        max_length=USERNAME_MAX_LENGTH,
        help_text=USERNAME_HELP,
        error_messages={"invalid": USERNAME_INVALID},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        required=False,
        help_text=(
            "Optional. With an address we email you a reminder when a drop or reviews wait (turn it off in "
            "Settings) and you can reset a forgotten password."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=128,
        help_text=password_validation.password_validators_help_text_html(),
    )
    timezone = timezone_field(
        initial="UTC",
        help_text="Your day starts at midnight here; we pre-fill it from your browser.",
    )

    start_path = forms.ChoiceField(
        label="Start a path now",
        required=False,
        widget=forms.RadioSelect,
        help_text="Enrolling opens day 1 at once; one new drop unlocks each day after that.",
    )

    def __init__(self, *args, initial_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        paths = selectors.path_list()
        if not paths:
            del self.fields["start_path"]
            return
        field = self.fields["start_path"]
        field.choices = [(p.slug, f"Yes: enrol me in {p.title} and open day 1") for p in paths] + [
            ("", "Not now: I will look around first")
        ]
        slugs = [p.slug for p in paths]
        # Arriving from a path's page picks that path; with a single path, starting it is the obvious default.
        field.initial = initial_path if initial_path in slugs else (slugs[0] if len(slugs) == 1 else "")

    def clean(self):
        cleaned = super().clean()
        # Judged here, whatever else failed: a weak password is said beside the other errors, not after them.
        password = cleaned.get("password")
        if password:
            candidate = User(username=cleaned.get("username") or "", email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned

    def clean_start_path(self) -> Path | None:
        slug = self.cleaned_data.get("start_path")
        return next((p for p in selectors.path_list() if p.slug == slug), None) if slug else None

    def save(self):
        try:
            return services.user_register(
                username=self.cleaned_data["username"],
                password=self.cleaned_data["password"],
                email=self.cleaned_data.get("email") or "",
                timezone_name=self.cleaned_data["timezone"],
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return None


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed logins. Wait a few minutes and try again.",
    }

    def clean(self):
        username = self.data.get("username", "")
        address = services.client_address(self.request) if self.request else "unknown"
        if services.login_blocked(username=username, address=address):
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            services.login_failed(username=username, address=address)
            raise
        services.login_succeeded(username=username, address=address)
        return cleaned


class RetentionPercentField(forms.FloatField):
    """The desired retention typed in percent (70–97) and handed on as a fraction (0.70–0.97); empty: None."""

    default_error_messages = {
        "invalid": "Enter your desired retention as a number of percent, between 70 and 97.",
        "retention_range": "Choose a desired retention between 70% and 97%.",
    }

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)
        self.widget.attrs.update({"min": round(RETENTION_MIN * 100), "max": round(RETENTION_MAX * 100), "step": "0.5"})

    def prepare_value(self, value):
        if isinstance(value, float) and value <= 1:
            return f"{value * 100:g}"
        return value

    def to_python(self, value):
        percent = super().to_python(value)
        return None if percent is None else round(percent / 100, 4)

    def validate(self, value):
        super().validate(value)
        if value is not None and not (RETENTION_MIN <= value <= RETENTION_MAX):
            raise ValidationError(self.error_messages["retention_range"], code="retention_range")


class ProfileForm(forms.ModelForm):
    email = forms.EmailField(
        required=False,
        max_length=254,
        label="Email address",
        help_text="For reminders and for resetting a forgotten password. Leave it empty to have none.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    timezone = timezone_field(help_text="Your day starts at midnight here, and reminders come at your hour here.")
    desired_retention = RetentionPercentField(
        label="Desired retention (%)",
        help_text=(
            "How likely you want to be to remember a card when it comes back, from 70% to 97%. Higher means "
            "shorter intervals and more reviews; lower, fewer reviews and more forgotten. Leave it empty for the "
            "platform default. The table below shows the trade-off."
        ),
    )
    read_ahead_per_day = forms.IntegerField(
        label="Drops to read ahead per day",
        min_value=0,
        max_value=READ_AHEAD_MAX,
        required=False,
        error_messages={key: READ_AHEAD_MESSAGE for key in ("invalid", "min_value", "max_value")},
        help_text=(
            f"Once today's drop is done you may read the next one now: up to this many a day (0–{READ_AHEAD_MAX}, "
            "0 turns it off). A drop read ahead is tomorrow's: its cards join your reviews at once, the rest of "
            "the schedule stays as it was, and the day it would have unlocked is kept by your reviews."
        ),
    )

    class Meta:
        model = LearnerProfile
        fields = [
            "timezone",
            "reminder_hour",
            "email_reminders",
            "daily_goal_minutes",
            "daily_review_cap",
            "desired_retention",
            "read_ahead_per_day",
        ]
        labels = {"email_reminders": "Email me a reminder when something is waiting"}
        help_texts = {"email_reminders": "Needs an email address above. Adding an address does not turn this on."}

    field_order = ["email", "timezone", "reminder_hour", "email_reminders"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        form_bounds_apply(self)
        if not self.is_bound:
            self.initial["email"] = self.instance.user.email
        self.fields["desired_retention"].widget.attrs["placeholder"] = f"{self.default_retention_percent:g}"

    @property
    def default_retention_percent(self) -> float:
        return round(settings.FSRS_DESIRED_RETENTION * 100, 1)

    @property
    def retention_percent(self) -> str:
        return f"{round(self.instance.retention * 100, 1):g}"

    workload_stability_days = WORKLOAD_STABILITY_DAYS

    @property
    def retention_workload(self) -> list[dict]:
        """For the settings page: how far apart reviews come, and how many there are, at each retention."""
        from drops.scheduling import interval_days

        current = round(self.instance.retention * 100, 1)
        rows = []
        for percent in sorted({*WORKLOAD_RETENTIONS, current}):
            days = interval_days(stability_days=WORKLOAD_STABILITY_DAYS, desired_retention=percent / 100)
            rows.append(
                {
                    "percent": f"{percent:g}",
                    "days": f"{days:.1f}" if days < 10 else f"{days:.0f}",
                    "reviews": f"{WORKLOAD_STABILITY_DAYS / days:.2g}",
                    "current": percent == current,
                }
            )
        return rows

    def clean_read_ahead_per_day(self) -> int:
        value = self.cleaned_data.get("read_ahead_per_day")
        return self.instance.read_ahead_per_day if value is None else value  # left out: unchanged

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("email_reminders") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email_reminders", services.REMINDERS_NEED_EMAIL)
        return cleaned
