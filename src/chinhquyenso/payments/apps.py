from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "chinhquyenso.payments"
    label = "payments"
    verbose_name = "Thanh toán trực tuyến"
