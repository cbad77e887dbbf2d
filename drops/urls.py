from django.urls import path

from drops import views

urlpatterns = [
    path("drops/<int:drop_id>/", views.drop_page, name="drop"),
]
