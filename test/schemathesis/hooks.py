"""Schemathesis hooks (SCHEMATHESIS_HOOKS=hooks, with this folder on PYTHONPATH): requests to the intake API
are signed as a test caller, the way a real caller signs them (docs/apis.md, domain/signing.ts):

    X-Intake-Signature: v2=<hex HMAC-SHA256(secret, "giftcards-intake\\n" + timestamp + "." + payload)>

where the payload is the body's bytes as sent, or for a GET the request line. The signature must cover the
exact bytes on the wire, which exist only once the request is prepared, so the signing happens there: on
the prepared request each transport adapter sends, after Schemathesis has built and serialized the case.
Without it every generated request would stop at the 401 and the fuzzing would never reach a handler.

The caller and its secret come from the environment (INTAKE_TEST_CALLER, INTAKE_TEST_SECRET), set by
test/stack/schemathesis.test.ts for the API it started.
"""

import hashlib
import hmac
import os
import time

import requests.adapters
import schemathesis  # noqa: F401  (loaded by Schemathesis as its hooks module)

CALLER = os.environ["INTAKE_TEST_CALLER"]
SECRET = os.environ["INTAKE_TEST_SECRET"].encode()
LABEL = b"giftcards-intake\n"


def sign(request: requests.PreparedRequest) -> None:
    path = request.path_url
    if not path.startswith("/v1/"):
        return
    timestamp = str(int(time.time()))
    if request.method == "GET":
        payload = f"GET {path}".encode()
    else:
        body = request.body or b""
        payload = body.encode() if isinstance(body, str) else body
    mac = hmac.new(SECRET, LABEL + timestamp.encode() + b"." + payload, hashlib.sha256)
    request.headers["X-Intake-Client"] = CALLER
    request.headers["X-Intake-Timestamp"] = timestamp
    request.headers["X-Intake-Signature"] = "v2=" + mac.hexdigest()


_send = requests.adapters.HTTPAdapter.send


def signed_send(self, request, *args, **kwargs):
    sign(request)
    return _send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = signed_send
