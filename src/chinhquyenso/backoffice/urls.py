from django.urls import path

from . import admin_views, auth_views, views

app_name = "backoffice"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("dang-nhap", auth_views.login_page, name="login"),
    path("dang-nhap/ma", auth_views.login_code, name="login_code"),
    path("dang-nhap/dang-ky-ma", auth_views.login_enrol, name="login_enrol"),
    path("dang-xuat", auth_views.logout_page, name="logout"),
    path("bao-mat", auth_views.security, name="security"),
    path("loi-moi/<str:token>", auth_views.invitation, name="invitation"),
    path("ho-so/<str:code>", views.dossier, name="dossier"),
    path("ho-so/<str:code>/thao-tac/<str:action>", views.dossier_action, name="dossier_action"),
    path("ho-so/<str:code>/tep/<uuid:att_id>", views.attachment, name="attachment"),
    path("ho-so/<str:code>/mau/<str:number>", views.dossier_form, name="dossier_form"),
    path("tiep-nhan", views.desk, name="desk"),
    path("tiep-nhan/xong/<str:code>", views.desk_done, name="desk_done"),
    path("phe-duyet", views.approvals, name="approvals"),
    path("quan-tri/", admin_views.home, name="admin"),
    path("quan-tri/can-bo", admin_views.officers, name="admin_officers"),
    path("quan-tri/can-bo/<int:user_id>", admin_views.officer, name="admin_officer"),
    path("quan-tri/co-quan", admin_views.agencies, name="admin_agencies"),
    path("quan-tri/co-quan/<int:agency_id>", admin_views.agency, name="admin_agency"),
    path("quan-tri/thu-tuc", admin_views.procedures, name="admin_procedures"),
    path("quan-tri/thu-tuc/<str:code>", admin_views.procedure, name="admin_procedure"),
    path("quan-tri/lich", admin_views.calendar, name="admin_calendar"),
]
