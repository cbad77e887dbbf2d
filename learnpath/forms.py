from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from learnpath import services
from learnpath.models import LearnerProfile, available_timezones


class SignupForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        help_text="Letters, digits and @/./+/-/_ only.",
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
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), max_length=128
    )
    timezone = forms.ChoiceField(
        choices=[],
        initial="UTC",
        help_text="Your day starts at midnight here; we pre-fill it from your browser.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(available_timezones())]

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


class ProfileForm(forms.ModelForm):
    email = forms.EmailField(
        required=False,
        max_length=254,
        label="Email address",
        help_text="For reminders and for resetting a forgotten password. Leave it empty to have none.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    timezone = forms.ChoiceField(choices=[])

    class Meta:
        model = LearnerProfile
        fields = ["timezone", "reminder_hour", "email_reminders", "daily_goal_minutes", "daily_review_cap"]
        labels = {"email_reminders": "Email me a reminder when something is waiting"}
        help_texts = {"email_reminders": "Needs an email address above. Adding an address does not turn this on."}

    field_order = ["email", "timezone", "reminder_hour", "email_reminders"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(available_timezones())]
        if not self.is_bound:
            self.initial["email"] = self.instance.user.email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("email_reminders") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email_reminders", services.REMINDERS_NEED_EMAIL)
        return cleaned
