from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Distillation plans"

    def ready(self) -> None:
        from drops import extras
        from plans.views import worksheet_contents, worksheet_panel

        extras.register(worksheet_panel)
        extras.register_contents(worksheet_contents)
