"""Email reminders default to off, and are turned off for accounts that have no address to send them to."""

from django.db import migrations, models


def reminders_off_without_address(apps, schema_editor):
    LearnerProfile = apps.get_model("learnpath", "LearnerProfile")
    LearnerProfile.objects.filter(email_reminders=True, user__email="").update(email_reminders=False)


class Migration(migrations.Migration):
    dependencies = [
        ("learnpath", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="learnerprofile",
            name="email_reminders",
            field=models.BooleanField(
                default=False,
                help_text="Email a reminder at the reminder hour when something waits (needs an address).",
            ),
        ),
        migrations.RunPython(reminders_off_without_address, migrations.RunPython.noop),
    ]
