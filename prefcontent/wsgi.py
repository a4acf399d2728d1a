import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
application = get_wsgi_application()

from prefcontent.core.devmode import announce_mode  # noqa: E402 - needs the settings configured above

announce_mode()
