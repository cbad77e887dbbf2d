"""Browser pages for accounts and paths; state changes go through learnpath.services."""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from datetime import datetime
from pathlib import Path as FilePath

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from drops.models import Drop
from learnpath import selectors, services, throttles
from learnpath.api.views import path_outline
from learnpath.cache import content_cached, learner_cached
from learnpath.forms import ProfileForm, SignupForm, ThrottledAuthenticationForm
from learnpath.idempotency import idempotent
from learnpath.models import Path


def home(request):
    if request.user.is_authenticated:
        return redirect("today")
    enrolled = selectors.enrolled_path_ids(request.user)
    paths = [(p, p.pk in enrolled) for p in selectors.path_list()]
    return render(request, "learnpath/home.html", {"paths": paths})


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None, initial_path=request.GET.get("path"))
    if request.method == "POST" and form.is_valid():
        wait = throttles.account_creation_wait(request)
        if wait is not None:
            form.add_error(None, throttles.accounts_per_network_message(wait))
            return render(request, "registration/signup.html", {"form": form}, status=429)
        user = form.save()
        if user is not None:
            throttles.account_created(request)
            login(request, user, backend="learnpath.auth.ProfileModelBackend")
            path = form.cleaned_data.get("start_path")
            if path is None:
                messages.success(request, f"Welcome, {user.username}! Pick a path to start.")
                return redirect("home")
            services.enrollment_create(user=user, path=path)
            messages.success(request, f"Welcome, {user.username}! You are enrolled in {path.title}: day 1 is open.")
            return _to_first_open_drop(user, path)
    return render(request, "registration/signup.html", {"form": form})


def _to_first_open_drop(user, path: Path):
    """Straight to the lesson waiting for the learner (day 1 after enrolling); the path page if none is."""
    from drops.selectors import path_drop_states

    states = path_drop_states(user=user, path_id=path.pk, now=timezone.now())
    open_ids = [drop_id for drop_id, state in states.items() if state.state == "available"]
    drop = Drop.objects.filter(pk__in=open_ids).order_by("position").only("pk").first()
    return redirect("drop", drop_id=drop.pk) if drop else redirect("path", slug=path.slug)


class ThrottledLoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


# Django's auth views with the site's own templates. The names are not registration/*: the admin's templates of
# those names come first in the template search and would show "Django administration" to a learner.
class PasswordChange(auth_views.PasswordChangeView):
    template_name = "learnpath/accounts/password_change.html"
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


class PasswordReset(auth_views.PasswordResetView):
    """Sends the link through EMAIL_BACKEND, and says the same whether or not an account has that address."""

    template_name = "learnpath/accounts/password_reset.html"
    email_template_name = "learnpath/accounts/password_reset_email.txt"
    subject_template_name = "learnpath/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        if not services.password_reset_allowed(email=form.cleaned_data["email"]):
            return redirect(self.success_url)  # the same page as a sent email: nothing to learn, nothing sent
        return super().form_valid(form)


class PasswordResetSent(auth_views.PasswordResetDoneView):
    template_name = "learnpath/accounts/password_reset_sent.html"


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """An old, used or mangled link renders the same page with validlink False, and a way to ask again."""

    template_name = "learnpath/accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "learnpath/accounts/password_reset_complete.html"


@login_required
def settings_page(request):
    profile = selectors.profile_of(request.user)  # a GET writes nothing; saving goes through the service
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        had_email = bool(request.user.email)
        try:
            services.account_settings_update(user=request.user, email=changes.pop("email"), **changes)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            saved = "Settings saved."
            if request.user.email and not had_email and not changes["email_reminders"]:
                saved += " Reminders stay off until you tick “Email me a reminder”."
            messages.success(request, saved)
            return redirect("settings")
    return render(request, "learnpath/settings.html", {"form": form})


def path_page(request, slug: str):
    """The path's outline with the learner's states, its certificate panel and its FAQ.

    Rendered once and served from the cache (``learnpath.cache``): a learner's copy, in their timezone, until
    their state or the content changes or the next drop unlocks; a visitor's, the same for all, until the
    content changes. Only the site's frame and the page's header (with the enrol form's CSRF token) are rendered
    for each request.
    """
    now = timezone.now()
    if request.user.is_authenticated:
        page = learner_cached(
            user_id=request.user.pk,
            name=_path_page_entry(slug),
            now=now,
            compute=lambda: _path_page(request, slug, now),
            variant=timezone.get_current_timezone_name(),
        )
    else:
        page = content_cached(name=_path_page_entry(slug), compute=lambda: _path_page(request, slug, now)[0])
    return render(request, "learnpath/path.html", {**page, "outline_html": mark_safe(page["body"])})  # noqa: S308


def _path_page_entry(slug: str) -> str:
    return f"page:path:{slug}"


# The cached page comes in the request's first round trip to the cache.
path_page.learner_entries = (lambda request: _path_page_entry(request.resolver_match.kwargs["slug"]),)


def _path_page(request, slug: str, now: datetime) -> tuple[dict, datetime | None]:
    """What the path page shows, its body rendered, and the moment time alone changes it (a drop unlocking)."""
    content = selectors.path_content(slug)
    if content is None:
        raise Http404("No such path")
    outline = path_outline(content, request.user, now=now)
    drops = [drop for phase in outline["phases"] for drop in phase["drops"]]
    # The drop of the day: one open only by reading ahead is offered on Today, not here.
    next_drop = next((drop for drop in drops if drop["state"] == "available" and not drop["read_ahead"]), None)
    page = {
        "outline": {key: outline[key] for key in ("slug", "title", "summary", "enrolled")},
        "next_drop": next_drop and {key: next_drop[key] for key in ("id", "position", "title")},
        "body": render_to_string("learnpath/_path_outline.html", {"outline": outline}, request=request),
    }
    unlocks = [drop["unlocks_at"] for drop in drops if drop["unlocks_at"] and drop["unlocks_at"] > now]
    if any(drop["state"] != "completed" and (drop["read_ahead"] or drop["read_ahead_limit_reached"]) for drop in drops):
        # Today's read-aheads are counted per local day: at midnight a drop read ahead has its day, or opens.
        from drops.days import next_day_start

        unlocks.append(next_day_start(now, selectors.profile_of(request.user).zone))
    return page, min(unlocks, default=None)


@login_required
@require_POST
@idempotent
def enroll(request, slug: str):
    path = get_object_or_404(Path, slug=slug)
    _, created = services.enrollment_create(user=request.user, path=path)
    if not created:
        return redirect("path", slug=slug)
    messages.success(request, f"You are enrolled in {path.title}: day 1 is open.")
    return _to_first_open_drop(request.user, path)


def not_found(request, exception=None):
    """API clients get the API's JSON error shape for unknown URLs; people get the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


# Seconds a client is asked to wait when a dependency it needs is down (503 with Retry-After).
RETRY_AFTER_SECONDS = 15


def server_error(request):
    """Rendered without the request's context, as Django's own is: whatever broke the page cannot break this.

    A database that cannot be reached (stopped, restarting, failing over) is not a bug: it answers 503 with
    Retry-After, naming what is unavailable, wherever in the request it was found (a middleware loading the
    session as much as a view).
    """
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return _unavailable(request, "database")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side. Try again in a minute."}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())


def _unavailable(request, dependency: str):
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "detail": (
                    f"The {dependency} is unavailable right now, so this request was not carried out. "
                    "Try again shortly."
                ),
                "unavailable": [dependency],
                "retry_after_seconds": RETRY_AFTER_SECONDS,
            },
            status=503,
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


SERVICE_WORKER = FilePath(__file__).resolve().parent / "static" / "learnpath" / "sw.js"
PRECACHED_FILE = re.compile(r'"/static/(?P<path>[^"]+)"')
VERSION_LINE = re.compile(r'^const VERSION = "[^"]*";$', re.M)


@functools.cache
def service_worker_script() -> bytes:
    """sw.js with its VERSION set to a digest of itself and of every static file it precaches. The precached files
    keep their names from one deploy to the next, so a deploy that changes one of them (a stylesheet, a script)
    must change the worker's bytes: the browser then installs the new worker, which precaches the new files, and
    its activation deletes the old caches. Computed once per process; static files change only with a deploy."""
    text = SERVICE_WORKER.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode())
    for match in PRECACHED_FILE.finditer(text):
        found = finders.find(match["path"])
        digest.update(FilePath(found).read_bytes() if found else match["path"].encode())
    return VERSION_LINE.sub(f'const VERSION = "{digest.hexdigest()[:16]}";', text, count=1).encode()


def service_worker(request):
    """The service worker (docs/offline.md), served from the site's root so that its scope is the whole site; the
    browser checks it for a new version on every navigation (no-cache), and its body is the static file sw.js with
    the version of what it precaches."""
    response = HttpResponse(service_worker_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response
