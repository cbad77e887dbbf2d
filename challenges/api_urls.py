from django.urls import path

from challenges import apis

urlpatterns = [
    path("challenges/", apis.ChallengeListApi.as_view(), name="api-challenges"),
    path("challenges/<slug:slug>/", apis.ChallengeDetailApi.as_view(), name="api-challenge"),
    path(
        "challenges/<slug:slug>/submissions/", apis.SubmissionListCreateApi.as_view(), name="api-challenge-submissions"
    ),
    path("challenges/<slug:slug>/hints/", apis.HintRevealApi.as_view(), name="api-challenge-hints"),
    path("challenges/<slug:slug>/try/", apis.ExampleRunCreateApi.as_view(), name="api-challenge-try"),
    path("example-runs/<int:run_id>/", apis.ExampleRunDetailApi.as_view(), name="api-example-run"),
    path("submissions/<int:submission_id>/", apis.SubmissionDetailApi.as_view(), name="api-submission"),
]
