from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "challenges"
    verbose_name = "Code challenges"

    def ready(self):
        from challenges.views import drop_challenges_contents, drop_challenges_panel
        from drops import extras

        extras.register(drop_challenges_panel)
        extras.register_contents(drop_challenges_contents)
