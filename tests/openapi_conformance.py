"""schemathesis against a service's OpenAPI document, in process (each service's unit tests) or deployed (the lab):
requests generated from the document and signed by a caller the service admits never get a 5xx, and every answer
conforms to the document (status code, content type, body schema)."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from medledger_api.signed_request import Signer, content_digest, sign_request

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 30


class Signed(requests.auth.AuthBase):
    """Signs each prepared request as the services expect (medledger_api.signed_request)."""

    def __init__(self, signer: Signer, audience: str) -> None:
        self.signer, self.audience = signer, audience

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        content = body.encode() if isinstance(body, str) else body
        path, _, query = (request.path_url or "/").partition("?")
        signed = sign_request(
            self.signer,
            audience=self.audience,
            method=str(request.method),
            path=path,
            query=query,
            digest=content_digest(content),
        )
        request.headers.update(signed)
        return request


def assert_conforms(app: FastAPI, caller: Signer, audience: str) -> None:
    """The service `app`, in process."""
    check_operations(schemathesis.openapi.from_asgi("/openapi.json", app), signed_session(caller, audience))


def assert_deployed_conforms(url: str, ca_file: str, caller: Signer, audience: str, examples: int) -> None:
    """The service at `url` (https://host:port), its TLS certificate verified against `ca_file`."""
    session = signed_session(caller, audience)
    session.verify = ca_file
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", verify=ca_file)
    check_operations(schema, session, examples, verify=ca_file)


def signed_session(caller: Signer, audience: str) -> requests.Session:
    session = requests.Session()
    session.auth = Signed(caller, audience)
    return session


def check_operations(
    schema: Any, session: requests.Session, examples: int = EXAMPLES_PER_OPERATION, **call: Any
) -> None:
    """`call`: keyword arguments of each request (the transport's own `verify` wins over the session's)."""
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(session=session, checks=CHECKS, **call)

        conforms()
