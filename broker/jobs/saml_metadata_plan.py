"""What a SAML connection's re-read metadata changes, decided without I/O.

    certificate listed, not trusted   -> trusted from now on, beside the others (added)
    certificate trusted, not listed   -> dropped once a login verified under one of the
                                         certificates the metadata still lists (removed);
                                         until then kept (pending), so the IdP may go on
                                         signing with it while its rollover finishes
    entity ID, SSO URL or binding     -> not applied: reported for the admin to act on
    differ                               (a changed SSO URL sends people elsewhere; who
                                         decides that is a person, not a fetch)

A certificate already expired when listed is not added (the IdP cannot be signing with it
for long); one that would exceed `MAX_IDP_CERTIFICATES` waits for a removal to make room.
The last certificate is never dropped: removal needs a listed one that verified a login,
and that one stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from broker.upstream.saml.config import MAX_IDP_CERTIFICATES, SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.saml.xmlsig import pem_fingerprint

#: How much of a reported value an event shows.
_SHOWN = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataPlan:
    #: What the connection trusts after this run, in order: kept ones first, then added.
    certificates: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    #: No longer listed, kept until a listed certificate verified a login.
    pending: tuple[str, ...]
    #: Fingerprints of the listed certificates a login verified under (why `removed` could go).
    verified_with: tuple[str, ...]
    #: Stored config name -> {"stored": ..., "metadata": ...}, for what differs.
    differences: Mapping[str, Mapping[str, str]]

    @property
    def changes_trust(self) -> bool:
        return bool(self.added or self.removed)


def plan_refresh(
    config: SamlConnectionConfig,
    metadata: IdpMetadata,
    *,
    now: datetime,
    verified: Mapping[str, datetime],
) -> MetadataPlan:
    """`verified`: fingerprint -> when a login last verified under it (this connection's)."""
    trusted = {pem_fingerprint(pem): pem for pem in config.idp_certificates}
    listed = {pem_fingerprint(pem): pem for pem in metadata.certificates}
    verified_with = tuple(fp for fp in listed if fp in trusted and fp in verified)
    unlisted = [fp for fp in trusted if fp not in listed]
    removed = unlisted if verified_with else []
    pending = [] if verified_with else unlisted
    kept = [pem for fp, pem in trusted.items() if fp not in removed]
    room = MAX_IDP_CERTIFICATES - len(kept)
    usable = [
        pem for fp, pem in listed.items() if fp not in trusted and _not_after(pem) > now
    ]  # fmt: skip
    added = usable[: max(room, 0)]
    return MetadataPlan(
        certificates=(*kept, *added),
        added=tuple(added),
        removed=tuple(trusted[fp] for fp in removed),
        pending=tuple(trusted[fp] for fp in pending),
        verified_with=verified_with,
        differences=_differences(config, metadata),
    )


def _differences(config: SamlConnectionConfig, metadata: IdpMetadata) -> dict[str, dict[str, str]]:
    found = {
        "idp_entity_id": (config.idp_entity_id, metadata.entity_id),
        "sso_url": (config.sso_url, metadata.sso_url),
        "sso_binding": (config.sso_binding, metadata.sso_binding),
    }
    # Capped: the metadata's values land in an audit event, and a document may hold a
    # megabyte-long entity ID.
    return {
        name: {"stored": stored[:_SHOWN], "metadata": published[:_SHOWN]}
        for name, (stored, published) in found.items()
        if stored != published
    }


def _not_after(pem: str) -> datetime:
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc
