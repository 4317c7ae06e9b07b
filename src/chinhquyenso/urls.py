from django.urls import path
from django.views.generic import RedirectView

from chinhquyenso.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    # Until the citizen portal has its home page, the root leads to the API documentation.
    path("", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
