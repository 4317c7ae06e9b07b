from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("thu-tuc", views.search, name="search"),
    path("thu-tuc/<str:code>", views.procedure, name="procedure"),
    path("ho-so/nop/<str:code>", views.submit, name="submit"),
    path("ho-so/nop/<str:code>/tep", views.upload, name="upload"),
    path("ho-so/nop/<str:code>/nhap", views.save_draft, name="draft"),
    path("ho-so/<str:code>/bien-nhan", views.receipt, name="receipt"),
    path("ho-so/<str:code>/bien-nhan.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("tra-cuu", views.lookup, name="lookup"),
    path("ca-nhan/ho-so", views.my_dossiers, name="my-dossiers"),
    path("ca-nhan/ho-so/<str:code>", views.my_dossier, name="my-dossier"),
    path("ca-nhan/ho-so/<str:code>/mau-<str:number>.pdf", views.my_form_pdf, name="my-form"),
    path("ca-nhan/ho-so/<str:code>/tep/<uuid:file_id>", views.my_file, name="my-file"),
    path("ca-nhan/ho-so/<str:code>/<str:action>", views.my_action, name="my-action"),
    path("ca-nhan/thong-bao", views.inbox, name="inbox"),
    path("dang-nhap", views.login_page, name="login"),
    path("dang-nhap/vneid", views.login_start, name="login-start"),
    path("dang-nhap/xac-thuc", views.login_callback, name="login-callback"),
    path("dang-xuat", views.logout_view, name="logout"),
]
