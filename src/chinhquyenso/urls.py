from django.urls import path
from django.views.generic import RedirectView

from chinhquyenso.api import api
from chinhquyenso.payments.views import payment_return

urlpatterns = [
    path("api/v1/", api.urls),
    path("thanh-toan/ket-qua", payment_return, name="payment-return"),
    # Until the citizen portal has its home page, the root leads to the API documentation.
    path("", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
