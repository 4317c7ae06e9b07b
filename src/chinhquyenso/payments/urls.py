from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("ket-qua", views.payment_return, name="return"),
]
