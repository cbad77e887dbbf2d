from django.urls import path

from challenges import views

urlpatterns = [
    path("challenges/", views.challenge_list_page, name="challenge-list"),
    path("challenges/<slug:slug>/", views.challenge_page, name="challenge"),
    path(
        "challenges/<slug:slug>/submissions/<int:submission_id>/verdict/",
        views.submission_verdict,
        name="challenge-verdict",
    ),
]
