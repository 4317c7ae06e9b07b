from django.urls import path

from chinhquyenso.api import api

urlpatterns = [
    path("api/v1/", api.urls),
]
