"""schemathesis against a service's OpenAPI document, for each service's unit tests: requests generated from the
document and signed by a caller the service admits never get a 5xx, and every answer conforms to the document
(status code, content type, body schema)."""

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

from medledger_api.signed_request import content_digest, sign_request

from .certificates import Issued
from .organisations import User

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 30


class Signed(requests.auth.AuthBase):
    """Signs each prepared request as the services expect (medledger_api.signed_request)."""

    def __init__(self, user: Issued, audience: str) -> None:
        self.user, self.audience = user, audience

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        content = body.encode() if isinstance(body, str) else body
        path, _, query = (request.path_url or "/").partition("?")
        signed = sign_request(
            User(self.user),
            audience=self.audience,
            method=str(request.method),
            path=path,
            query=query,
            digest=content_digest(content),
        )
        request.headers.update(signed)
        return request


def assert_conforms(app: FastAPI, caller: Issued, audience: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    session = requests.Session()
    session.auth = Signed(caller, audience)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(session=session, checks=CHECKS)

        conforms()
