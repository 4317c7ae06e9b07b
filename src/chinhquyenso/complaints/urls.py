from django.urls import path

from . import views

app_name = "complaints"
urlpatterns = [
    path("", views.new, name="new"),
    path("cua-toi", views.mine, name="mine"),
    path("can-bo/", views.officer_index, name="officer_index"),
    path("can-bo/<str:code>", views.officer_detail, name="officer_detail"),
    path("can-bo/<str:code>/<slug:action>", views.officer_action, name="officer_action"),
    path("theo-doi/<str:code>/<str:key>", views.track, name="track"),
    path("<str:code>/danh-gia", views.rate, name="rate"),
    path("<str:code>", views.detail, name="detail"),
]
