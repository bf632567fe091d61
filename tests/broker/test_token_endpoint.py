"""`/token`'s dispatch (broker/token_endpoint.py): the grant type alone picks the registry
that answers, and the other never sees the request."""

from __future__ import annotations

import pytest

from broker.http import HttpRequest, HttpResponse
from broker.token_endpoint import TokenEndpoint


class Grant:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        return HttpResponse(body=self.name.encode())


@pytest.mark.parametrize(
    ("form", "answers"),
    [
        ({"grant_type": ["client_credentials"]}, "management"),
        ({"grant_type": ["authorization_code"]}, "provider"),
        ({}, "provider"),  # the provider says what is missing
        ({"grant_type": ["client_credentials", "client_credentials"]}, "provider"),
        ({"grant_type": ["Client_Credentials"]}, "provider"),
    ],
)
def test_the_grant_type_alone_picks_who_answers(form: dict[str, list[str]], answers: str) -> None:
    provider, management = Grant("provider"), Grant("management")
    endpoint = TokenEndpoint(authorization_code=provider, client_credentials=management)
    request = HttpRequest(method="POST", url="https://gatehouse.test/token", form=form)
    assert endpoint(request).body == answers.encode()
    other = management if answers == "provider" else provider
    assert other.seen == []
