from django.urls import path

from drops import api

urlpatterns = [
    path("today/", api.TodayApi.as_view(), name="api-today"),
    path("drops/<int:drop_id>/", api.DropDetailApi.as_view(), name="api-drop"),
    path("drops/<int:drop_id>/complete/", api.DropCompleteApi.as_view(), name="api-drop-complete"),
    path("reviews/due/", api.ReviewsDueApi.as_view(), name="api-reviews-due"),
    path("reviews/session/", api.ReviewSessionApi.as_view(), name="api-review-session"),
    path("reviews/<int:card_id>/", api.ReviewRateApi.as_view(), name="api-review-rate"),
    path("reviews/<int:card_id>/check/", api.ReviewCheckApi.as_view(), name="api-review-check"),
    path("cards/", api.CardListApi.as_view(), name="api-cards"),
    path("cards/<int:card_id>/suspend/", api.CardSuspendApi.as_view(), name="api-card-suspend"),
    path("cards/<int:card_id>/resume/", api.CardResumeApi.as_view(), name="api-card-resume"),
    path("progress/", api.ProgressApi.as_view(), name="api-progress"),
]
