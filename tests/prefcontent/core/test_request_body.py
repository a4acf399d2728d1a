"""Issue #23 findings 8 and 10: chunked bodies are read within the limit, and a refused body is drained.

These call the WSGI application with the environ a server hands it. gunicorn decodes a chunked
body, sets no CONTENT_LENGTH and says `wsgi.input_terminated` (reading to EOF is safe); Django's
test client cannot send that, so the environ is built here.
"""
from __future__ import annotations

import io
import json

import pytest

from prefcontent.accounts import services


def call(method: str, path: str, body: bytes, headers: dict, *, chunked: bool, terminated: bool = True):
    from prefcontent.wsgi import application

    stream = io.BytesIO(body)
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": stream, "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = terminated
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    status: list[str] = []
    chunks = application(environ, lambda s, h, exc_info=None: status.append(s))
    content = b"".join(chunks)
    return int(status[0].split()[0]), json.loads(content) if content else None, stream


@pytest.fixture
def bearer(owner):
    return {"Authorization": f"Bearer {services.user_token_create(user=owner).plaintext}"}


def test_a_chunked_patch_is_read_and_applied(db, keep_test_connection, brand, bearer):
    status, body, _ = call("PATCH", f"/api/v1/brands/{brand.pk}/", json.dumps({"name": "Chunked"}).encode(),
                           bearer, chunked=True)
    assert status == 200, body
    brand.refresh_from_db()
    assert brand.name == "Chunked"


def test_a_chunked_body_over_the_limit_is_a_413_and_drained(db, keep_test_connection, brand, bearer, settings):
    settings.MAX_REQUEST_BYTES = 1024
    big = json.dumps({"name": "x" * 10_000}).encode()
    status, body, stream = call("PATCH", f"/api/v1/brands/{brand.pk}/", big, bearer, chunked=True)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert stream.tell() == len(big)  # nothing of it is left to be read as the next request
    brand.refresh_from_db()
    assert brand.name != "x" * 10_000


def test_a_body_over_the_limit_with_a_length_is_drained_after_the_413(db, keep_test_connection, brand, bearer,
                                                                      settings):
    settings.MAX_REQUEST_BYTES = 1024
    big = json.dumps({"name": "x" * 10_000}).encode()
    status, body, stream = call("PATCH", f"/api/v1/brands/{brand.pk}/", big, bearer, chunked=False)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert stream.tell() == len(big)


def test_a_chunked_body_a_server_cannot_terminate_is_a_411(db, keep_test_connection, brand, bearer):
    status, body, _ = call("PATCH", f"/api/v1/brands/{brand.pk}/", b'{"name": "y"}', bearer, chunked=True,
                           terminated=False)
    assert status == 411 and body["error"]["code"] == "length_required"
    brand.refresh_from_db()
    assert brand.name != "y"


def test_chunked_events_are_stored(db, keep_test_connection, brand, make_key):
    from django.utils import timezone

    from prefcontent.experiments.models import Event
    from tests.prefcontent.experiments.factories import make_experiment

    experiment = make_experiment(brand)
    arm = experiment.arms.first()
    event = {"event_id": "chunked-1", "experiment": experiment.pk, "arm": arm.pk, "type": "impression",
             "unit_id": "u", "timestamp": timezone.now().isoformat()}
    status, body, _ = call("POST", "/api/v1/events", json.dumps({"events": [event]}).encode(),
                           {"X-API-Key": make_key(brand, scopes=["events:write"])}, chunked=True)
    assert status == 200 and body["accepted"] == 1, body
    assert Event.objects.filter(event_id="chunked-1").exists()
