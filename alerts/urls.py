from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.subscribe_form, name="subscribe_form"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("check-your-inbox/", views.check_inbox, name="check_inbox"),
    path("confirm/renew/", views.confirm_renew, name="confirm_renew"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/", views.links_request, name="links_request"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("unsubscribe/", views.links_request, name="unsubscribe_request"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
