from django.urls import path

from plans import api

urlpatterns = [
    path("plans/", api.PlanListApi.as_view(), name="api-plans"),
    path("plans/<int:plan_id>/", api.PlanDetailApi.as_view(), name="api-plan"),
    path("plans/<int:plan_id>/markdown/", api.PlanMarkdownApi.as_view(), name="api-plan-markdown"),
]
