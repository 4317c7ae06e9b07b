from django.conf import settings
from django.urls import include, path

from chinhquyenso.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("thanh-toan/", include("chinhquyenso.payments.urls")),
    path("can-bo/", include("chinhquyenso.backoffice.urls")),
    path("giam-sat/", include("chinhquyenso.planning.urls")),
    path("giam-sat/", include("chinhquyenso.monitoring.urls")),
    path("phan-anh/", include("chinhquyenso.complaints.urls")),
    path("", include("chinhquyenso.portal.urls")),
]
if settings.CQS_LOCAL_IDP:  # the development stand-in for VNeID (portal/idp.py)
    urlpatterns.insert(
        0, path("idp/", include("chinhquyenso.portal.idp", namespace="oauth2_provider")))
