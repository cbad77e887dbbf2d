from django import forms

from certificates.models import NAME_MAX_LENGTH
from certificates.services import certificate_name_problem


class CertificateNameForm(forms.Form):
    name = forms.CharField(
        label="Name to print on your certificate",
        # A little slack over the limit, so that surrounding spaces are trimmed rather than refused.
        max_length=NAME_MAX_LENGTH + 20,
        strip=False,
        help_text=(
            f"Up to {NAME_MAX_LENGTH} characters, in any script, with accents or emoji if you like (no invisible "
            "control or direction characters). It can be chosen once, and anyone you share the verification link "
            "with sees it."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        problem = certificate_name_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name
