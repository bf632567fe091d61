"""What the SAML metadata refresh (`broker.jobs.saml_metadata_refresh`) remembers.

- `SamlCertificateUseRepo`: when a login last verified under each pinned IdP certificate.
  A certificate the IdP's metadata stopped listing is dropped only once another one has
  verified a login, so a rollover never breaks sign-ins in between. Written by the SAML
  connector's report (`broker.upstream.base.CertificateUse`) in a short transaction of its
  own, never the login's.
- `SamlMetadataRefreshRepo`: per connection, when its metadata is next due, and the state
  that keeps the job's events from repeating (a failure streak, a change already reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataRefresh:
    connection_id: str
    next_fetch_at: datetime
    #: Set from the first failed fetch of a streak until one succeeds again.
    failing_since: datetime | None = None
    #: A digest of the metadata changes last reported (`connection.metadata_changed`), so
    #: the same difference is told once, not at every run.
    reported_change: str | None = None


class SamlCertificateUseRepo(Protocol):
    def verified(self, connection_id: str, fingerprint: str, *, at: datetime) -> None:
        """A login verified under this certificate at `at` (the latest time is kept).
        Raises NotFound if the connection is gone."""
        ...

    def last_verified(self, connection_id: str) -> Mapping[str, datetime]:
        """Fingerprint -> when a login last verified under it, for one connection."""
        ...

    def forget(self, connection_id: str, fingerprint: str) -> None: ...


class SamlMetadataRefreshRepo(Protocol):
    def get(self, connection_id: str) -> MetadataRefresh | None: ...

    def put(self, state: MetadataRefresh) -> None:
        """Insert or replace the connection's row (NotFound if the connection is gone)."""
        ...
