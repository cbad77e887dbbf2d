from django.urls import path

from plans import views

urlpatterns = [
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", views.plan_edit, name="plan-edit"),
    path("plans/<int:plan_id>/delete/", views.plan_delete, name="plan-delete"),
    path("plans/<int:plan_id>/export.md", views.plan_export, name="plan-export"),
]
