from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("chi-tiet", views.items, name="items"),
    path("xep-hang", views.ranking, name="rankings"),
    path("bao-cao", views.report, name="report"),
]
