from django.apps import AppConfig


class LearnpathConfig(AppConfig):
    name = "learnpath"
    verbose_name = "Paths and learners"
