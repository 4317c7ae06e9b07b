from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("muc-tieu", views.targets, name="targets"),
    path("muc-tieu.csv", views.targets_csv, name="targets_csv"),
    path("muc-tieu.xlsx", views.targets_csv, {"fmt": "xlsx"}, name="targets_xlsx"),
    path("muc-tieu/<str:code>/so-lieu", views.add_reading, name="add_reading"),
    path("ke-hoach", views.tasks, name="tasks"),
    path("ke-hoach.csv", views.tasks_csv, name="tasks_csv"),
    path("ke-hoach.xlsx", views.tasks_csv, {"fmt": "xlsx"}, name="tasks_xlsx"),
    path("ke-hoach/<int:pk>/tien-do", views.add_progress, name="add_progress"),
]
