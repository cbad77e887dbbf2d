from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from learnpath import views

api_patterns = [
    path("", include("learnpath.api.urls")),
    path("", include("drops.api_urls")),
    path("", include("challenges.api_urls")),
    path("", include("plans.api_urls")),
    path("", include("certificates.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChange.as_view(), name="password_change"),
    path("accounts/password/reset/", views.PasswordReset.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", views.PasswordResetSent.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/password/reset/done/", views.PasswordResetComplete.as_view(), name="password_reset_complete"),
    path("accounts/settings/", views.settings_page, name="settings"),
    path("paths/<slug:slug>/", views.path_page, name="path"),
    path("paths/<slug:slug>/enroll/", views.enroll, name="enroll"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("drops.urls")),
    path("", include("challenges.urls")),
    path("", include("plans.urls")),
    path("", include("certificates.urls")),
]

handler404 = "learnpath.views.not_found"
handler500 = "learnpath.views.server_error"
