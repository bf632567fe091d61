"""The SCIM routes, `/scim/v2/{directory_id}/...`: read the request (body capped), call
`DirectoryScim.handle` once in a worker thread, write its answer. Nothing else.

Every answer is `application/scim+json`, errors included: an IdP's SCIM client reads
SCIM error bodies, never an HTML page, so even a bug here answers a SCIM 500."""

from __future__ import annotations

import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from broker.directory.service import MAX_BODY, DirectoryScim, ScimAnswer, ScimCall
from broker.model.client_address import TrustedProxies

log = logging.getLogger(__name__)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_MEDIA_TYPE = "application/scim+json"


class _AnyPath(Convertor[str]):
    """The rest of the path, whatever it holds. Starlette's `path` convertor is `.*`, and
    `.` does not match a newline: `/Users/%0A0` matched no route and got the HTML 404 page
    instead of SCIM's error (found by tests/fuzz/test_scim_endpoints.py)."""

    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("scim_path", _AnyPath())


class ScimEndpoints:
    def __init__(self, *, issuer: str, proxies: TrustedProxies, scim: DirectoryScim) -> None:
        self._issuer = issuer
        self._proxies = proxies
        self._scim = scim

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/scim/v2/{directory_id:str}", self.endpoint, methods=_METHODS),
            Route("/scim/v2/{directory_id:str}/{path:scim_path}", self.endpoint, methods=_METHODS),
        ]

    async def endpoint(self, request: Request) -> Response:
        directory_id = str(request.path_params["directory_id"])
        call = ScimCall(
            directory_id=directory_id,
            method=request.method,
            path="/" + str(request.path_params.get("path", "")),
            base_url=f"{self._issuer}/scim/v2/{directory_id}",
            query=dict(request.query_params.items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await _read_capped(request),
            client_ip=self._proxies.client_address(
                request.client.host if request.client else None, request.headers.getlist
            ),
            request_id=getattr(request.state, "request_id", None),
        )
        try:
            answer = await run_in_threadpool(self._scim.handle, call)
        except Exception:
            log.exception("SCIM request failed")
            answer = ScimAnswer(
                500,
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "500",
                    "detail": "internal error",
                },
                {"Content-Type": _MEDIA_TYPE},
            )
        return _response(answer)


async def _read_capped(request: Request) -> bytes:
    """At most MAX_BODY + 1 bytes: one more than the cap is enough for the service to
    answer 413, and a larger body is never held in memory."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return b""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            break
    return b"".join(chunks)[: MAX_BODY + 1]


def _response(answer: ScimAnswer) -> Response:
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers, media_type=_MEDIA_TYPE)
    return Response(
        json.dumps(answer.body), status_code=answer.status, headers=headers, media_type=_MEDIA_TYPE
    )
