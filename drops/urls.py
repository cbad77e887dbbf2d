from django.urls import path

from drops import views

urlpatterns = [
    path("today/", views.today, name="today"),
    path("drops/<int:drop_id>/", views.drop_page, name="drop"),
    path("drops/<int:drop_id>/complete/", views.drop_complete, name="drop-complete"),
    path("review/", views.review_session, name="review"),
    path("review/<int:card_id>/", views.review_rate, name="review-rate"),
    path("cards/", views.cards_page, name="cards"),
    path("cards/<int:card_id>/suspend/", views.card_suspend, name="card-suspend"),
    path("cards/<int:card_id>/resume/", views.card_resume, name="card-resume"),
    path("cards/practice/<int:drop_id>/", views.practice_page, name="practice"),
    path("progress/", views.progress_page, name="progress"),
    path("demos/", views.demos_page, name="demos"),
    path("reminders/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
