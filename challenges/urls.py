from django.urls import path

from challenges import views

urlpatterns = [
    path("challenges/<slug:slug>/", views.challenge_page, name="challenge"),
]
