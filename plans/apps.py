from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Distillation plans"

    def ready(self) -> None:
        from drops import extras
        from plans.views import worksheet_panel

        extras.register(worksheet_panel)
