import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
application = get_wsgi_application()

# Outside demo mode, no default secret and no local identity provider (core/checks.py):
# the server refuses to load the application, with the variable to set.
from chinhquyenso.core.checks import refuse_unsafe_start  # noqa: E402

refuse_unsafe_start()
