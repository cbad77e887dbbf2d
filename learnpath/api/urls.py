from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from learnpath.api import docs, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.SwaggerDocs.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", docs.RedocDocs.as_view(url_name="api-schema"), name="api-redoc"),
    path("health/", views.HealthApi.as_view(), name="api-health"),
    path("ready/", views.ReadyApi.as_view(), name="api-ready"),
    path("auth/register/", views.RegisterApi.as_view(), name="api-register"),
    path("auth/token/", views.TokenApi.as_view(), name="api-token"),
    path("me/", views.ProfileApi.as_view(), name="api-profile"),
    path("paths/", views.PathListApi.as_view(), name="api-paths"),
    path("paths/<slug:slug>/", views.PathDetailApi.as_view(), name="api-path"),
    path("paths/<slug:slug>/enroll/", views.EnrollApi.as_view(), name="api-enroll"),
]
