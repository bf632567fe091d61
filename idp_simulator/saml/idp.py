"""The simulated IdP as plain Python: metadata, reading requests, answering them.

No web framework here: the Starlette app and the tests both drive this class. It is the
composition of the other modules and the one place that turns a person into a `ResponseSpec`.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.authn_request import AuthnRequestInfo, Binding, parse_authn_request
from idp_simulator.saml.metadata import metadata_xml
from idp_simulator.saml.response import NAMEID_EMAIL, ResponseSpec
from idp_simulator.saml.scenarios import Scenario, scenario_response_xml
from idp_simulator.user import SimulatedUser

__all__ = [
    "CLOCK_SKEW",
    "RESPONSE_LIFETIME",
    "ROLLOVER_STEPS",
    "PostBack",
    "SignMode",
    "SimulatedIdp",
    "SimulatedUser",
]

SignMode = Literal["assertion", "response", "both"]
#: A signing-certificate rollover as real IdPs run it (ADFS's AutoCertificateRollover,
#: Entra's "new certificate" then "make active"), one step at a time:
#: `publish` lists the next certificate beside the current one in the metadata;
#: `switch` signs with the next one (both still listed); `retire` lists only the next one.
ROLLOVER_STEPS = ("publish", "switch", "retire")
CLOCK_SKEW = timedelta(seconds=60)
"""NotBefore is this far in the past, as real IdPs do to absorb SP clocks running behind."""
RESPONSE_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PostBack:
    """What the browser posts to the SP: the HTTP-POST binding's form (bindings §3.5.4)."""

    acs_url: str
    saml_response_b64: str
    relay_state: str | None


class SimulatedIdp:
    """A SAML IdP with its own keys and a throwaway second key for the wrong-key scenario.

    It remembers the last `PostBack` it produced (thread-safe) so the web layer can post it a
    second time: the replay scenario.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        keys: IdpKeys,
        clock: Callable[[], datetime],
        *,
        wrong_keys: IdpKeys | None = None,
        next_keys: IdpKeys | None = None,
    ) -> None:
        self.config = config
        self.keys = keys
        self.wrong_keys = wrong_keys if wrong_keys is not None else generate("Not the IdP")
        self._next_keys = next_keys
        self._clock = clock
        self._last: PostBack | None = None
        self._lock = threading.Lock()
        #: The rollover steps taken, in order (ROLLOVER_STEPS).
        self._rollover: tuple[str, ...] = ()

    def metadata_xml(self) -> bytes:
        with self._lock:
            published = self._published()
        return metadata_xml(self.config.entity_id, self.config.sso_url, *published)

    def rollover(self, step: str) -> None:
        """Take the next rollover step (ValueError for another than the next): `publish`,
        then `switch`, then `retire` (ROLLOVER_STEPS)."""
        with self._lock:
            taken = len(self._rollover)
            if taken >= len(ROLLOVER_STEPS) or step != ROLLOVER_STEPS[taken]:
                expected = ROLLOVER_STEPS[taken] if taken < len(ROLLOVER_STEPS) else "none"
                raise ValueError(f"the next rollover step is {expected}, not {step}")
            if self._next_keys is None:
                self._next_keys = generate("Gatehouse IdP simulator (next)")
            self._rollover += (step,)

    def signing_keys(self) -> IdpKeys:
        """The key the IdP signs with now: the next one once the rollover switched."""
        with self._lock:
            switched = "switch" in self._rollover and self._next_keys is not None
            return self._next_keys if switched and self._next_keys else self.keys

    def _published(self) -> tuple[IdpKeys, ...]:
        if not self._rollover or self._next_keys is None:
            return (self.keys,)
        if "retire" in self._rollover:
            return (self._next_keys,)
        return (self.keys, self._next_keys)

    def parse_request(self, binding: Binding, params: Mapping[str, str]) -> AuthnRequestInfo:
        """Raises `AuthnRequestError` for a request the simulator will not answer."""
        return parse_authn_request(
            binding, params, allowed_acs_prefixes=self.config.allowed_acs_prefixes
        )

    def base_spec(self, request: AuthnRequestInfo, user: SimulatedUser) -> ResponseSpec:
        """The good response to `request` for `user`, valid from (now - skew) to now + 5 minutes."""
        now = self._clock()
        return ResponseSpec(
            issuer=self.config.entity_id,
            destination=request.acs_url,
            audience=request.issuer,
            recipient=request.acs_url,
            in_response_to=request.request_id,
            name_id=user.email,
            name_id_format=NAMEID_EMAIL,
            attributes=user.attributes(),
            issue_instant=now,
            not_before=now - CLOCK_SKEW,
            not_on_or_after=now + RESPONSE_LIFETIME,
            subject_confirmation_not_on_or_after=now + RESPONSE_LIFETIME,
            authn_instant=now,
        )

    def respond(
        self,
        request: AuthnRequestInfo,
        user: SimulatedUser,
        scenario: Scenario | str = Scenario.SUCCESS,
        *,
        sign: SignMode = "both",
    ) -> PostBack:
        """The auto-post for `request`, shaped by `scenario` (a `Scenario` or its name); also
        remembered for replay."""
        xml = scenario_response_xml(
            scenario,
            self.base_spec(request, user),
            keys=self.signing_keys(),
            wrong_keys=self.wrong_keys,
            sign_assertion=sign in ("assertion", "both"),
            sign_response=sign in ("response", "both"),
        )
        postback = PostBack(
            acs_url=request.acs_url,
            saml_response_b64=base64.b64encode(xml).decode("ascii"),
            relay_state=request.relay_state,
        )
        with self._lock:
            self._last = postback
        return postback

    def last_postback(self) -> PostBack | None:
        """The most recent `respond` result, for `GET /replay`."""
        with self._lock:
            return self._last
