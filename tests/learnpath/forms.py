"""Forms as a browser posts them, for tests that change one field at a time."""

# The settings page with every field at a valid value (a learner in UTC with the defaults).
SETTINGS_FORM = {
    "email": "",
    "timezone": "UTC",
    "reminder_hour": "18",
    "daily_goal_minutes": "5",
    "daily_review_cap": "50",
}
