from django.urls import path

from certificates import api

urlpatterns = [
    path("certificates/", api.CertificateListApi.as_view(), name="api-certificates"),
    path("certificates/<str:public_id>/", api.CertificateVerifyApi.as_view(), name="api-certificate"),
]
