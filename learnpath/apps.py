from django.apps import AppConfig

# Models whose rows are path content: cached pages and summaries built on them go stale when one changes.
CONTENT_MODELS = (
    "learnpath.Path",
    "learnpath.Phase",
    "learnpath.FAQEntry",
    "drops.Drop",
    "drops.RecallCard",
    "challenges.Challenge",
)


class LearnpathConfig(AppConfig):
    name = "learnpath"
    verbose_name = "Paths and learners"

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save

        # Content changes through loadcontent or the admin, both of which save model by model: every save
        # (or delete) of a content row marks the cached content stale, whoever made it.
        for label in CONTENT_MODELS:
            model = apps.get_model(label)
            post_save.connect(_content_changed, sender=model, dispatch_uid=f"content-changed-save-{label}")
            post_delete.connect(_content_changed, sender=model, dispatch_uid=f"content-changed-delete-{label}")
        # A learner's progress shows their challenge standings; submissions change in the web process and in
        # the grading workers (verdicts, regrades, the reaper), so every saved submission marks it stale.
        submission = apps.get_model("challenges.Submission")
        post_save.connect(_submission_changed, sender=submission, dispatch_uid="learner-changed-submission-save")
        post_delete.connect(_submission_changed, sender=submission, dispatch_uid="learner-changed-submission-delete")
        # The signed-in user is cached with its profile (learnpath.auth): any save of either drops it.
        from django.contrib.auth import get_user_model

        for model, field in ((get_user_model(), "pk"), (apps.get_model("learnpath.LearnerProfile"), "user_id")):
            label = model._meta.label
            handler = _user_changed_by(field)
            post_save.connect(handler, sender=model, dispatch_uid=f"auth-user-save-{label}", weak=False)
            post_delete.connect(handler, sender=model, dispatch_uid=f"auth-user-delete-{label}", weak=False)
        # An API token's user id is cached under its digest (learnpath.auth): a token deleted or replaced drops it.
        token = apps.get_model("authtoken.Token")
        post_save.connect(_token_changed, sender=token, dispatch_uid="auth-token-save")
        post_delete.connect(_token_changed, sender=token, dispatch_uid="auth-token-delete")
        # A process that saw the cache server fail pays the version bumps owed before it reads from it again.
        from learnpath import cache, redis_cache

        if cache.owed_invalidations_apply not in redis_cache.recovered:
            redis_cache.recovered.append(cache.owed_invalidations_apply)


def _content_changed(**kwargs) -> None:
    from learnpath.cache import content_changed

    content_changed()


def _user_changed_by(field: str):
    def changed(*, instance, **kwargs) -> None:
        from learnpath.auth import forget_user

        forget_user(getattr(instance, field))

    return changed


def _token_changed(*, instance, **kwargs) -> None:
    from learnpath.auth import forget_token

    forget_token(instance.key)


def _submission_changed(*, instance, **kwargs) -> None:
    from learnpath.cache import learner_changed

    learner_changed(instance.user_id)
