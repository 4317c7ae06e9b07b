from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("ket-qua", views.payment_return, name="return"),
    path("bien-lai/<int:receipt_id>.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("bien-lai/xac-minh/<str:token>", views.receipt_verify, name="receipt_verify"),
    path("hoan-tien", views.refund_list, name="refunds"),
    path("hoan-tien/de-nghi", views.refund_request, name="refund_request"),
    path("hoan-tien/<int:refund_id>/<str:decision>", views.refund_decide, name="refund_decide"),
    path("doi-soat", views.reconciliation, name="reconciliation"),
    path("doi-soat/thanh-toan.csv", views.reconciliation_csv, name="reconciliation_csv"),
    path("doi-soat/truy-van/<str:txn_ref>", views.reconciliation_query,
         name="reconciliation_query"),
]
