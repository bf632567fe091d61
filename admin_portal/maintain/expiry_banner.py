"""The banner at the top of a connection's overview when a trusted IdP certificate is
expiring or has expired: the same 30 days as the first `connection.certificate_expiring`
notice the app receives (broker/jobs/certificate_expiry.py), so the admin the app sends
here finds the reason at the top of the page, not in a table row below the fold.

Whether a newer certificate is already trusted changes what to do: nothing (sign-ins move
to it when the IdP switches) or add the next one now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from admin_portal.maintain.overview import Certificate


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryBanner:
    #: The certificates that expire within the notice period or have expired, soonest first.
    ending: tuple[Certificate, ...]
    #: A trusted certificate that is not ending: the IdP can switch to it without a break.
    successor: Certificate | None

    @property
    def soonest(self) -> Certificate:
        return self.ending[0]


def expiry_banner(certificates: Sequence[Certificate]) -> ExpiryBanner | None:
    ending = sorted((c for c in certificates if c.state != "ok"), key=lambda c: c.view.not_after)
    if not ending:
        return None
    lasting = [c for c in certificates if c.state == "ok"]
    successor = max(lasting, key=lambda c: c.view.not_after) if lasting else None
    return ExpiryBanner(ending=tuple(ending), successor=successor)
