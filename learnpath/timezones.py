"""The timezone picker: about 600 IANA names, the common ones first, then one group per region.

The <select> works on its own (grouped, with the browser's type-to-jump); timezone-picker.js adds a search box
that narrows it. What is posted is always an IANA name, and the server checks it against the names it knows
(``learnpath.models.validate_timezone``)."""

from __future__ import annotations

from django import forms

from learnpath.models import available_timezones

# Where most learners are: one zone per populous or well-known region, west to east.
COMMON_ZONES = (
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
OTHER = "Other and legacy names"


def zone_label(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" → "Argentina / Buenos Aires (America/Argentina/Buenos_Aires)"."""
    if "/" not in name:
        return name
    place = " / ".join(part.replace("_", " ") for part in name.split("/")[1:])
    return f"{place} ({name})"


def timezone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a ChoiceField: "Common", then each region, then the rest, each sorted by name."""
    names = available_timezones()
    groups: dict[str, list[str]] = {region: [] for region in REGIONS}
    groups[OTHER] = []
    for name in sorted(names):
        region = name.split("/", 1)[0]
        groups[region if region in groups and "/" in name else OTHER].append(name)
    common = [(name, zone_label(name)) for name in COMMON_ZONES if name in names]
    return [("Common", common)] + [
        (region, [(name, zone_label(name)) for name in members]) for region, members in groups.items() if members
    ]


class TimezoneSelect(forms.Select):
    """A grouped <select>, and a search box (shown by its script) that narrows it."""

    template_name = "learnpath/widgets/timezone_select.html"
