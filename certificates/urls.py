from django.urls import path

from certificates import views

urlpatterns = [
    path("certificates/", views.certificate_list, name="certificates"),
    path("certificates/<str:public_id>.pdf", views.certificate_download, name="certificate-pdf"),
    path("certificates/<str:public_id>/", views.certificate_verify, name="certificate-verify"),
    path("certificates/<str:public_id>/name/", views.certificate_name, name="certificate-name"),
]
