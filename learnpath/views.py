"""Browser pages for accounts and paths; state changes go through learnpath.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from learnpath import selectors, services
from learnpath.api.views import path_outline
from learnpath.forms import ProfileForm, SignupForm, ThrottledAuthenticationForm
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
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Pick a path to start.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


class ThrottledLoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class PasswordChange(auth_views.PasswordChangeView):
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


@login_required
def settings_page(request):
    profile = services.profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("settings")
    return render(request, "learnpath/settings.html", {"form": form})


def path_page(request, slug: str):
    try:
        path = selectors.path_detail(slug)
    except Path.DoesNotExist:
        raise Http404("No such path") from None
    return render(request, "learnpath/path.html", {"path": path, "outline": path_outline(path, request.user)})


@login_required
@require_POST
def enroll(request, slug: str):
    path = get_object_or_404(Path, slug=slug)
    _, created = services.enrollment_create(user=request.user, path=path)
    if created:
        messages.success(request, f"You are enrolled in {path.title}. Your first drop is ready.")
    return redirect("path", slug=slug)


def not_found(request, exception=None):
    """API clients get the API's JSON error shape for unknown URLs; people get the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)
