"""RFC 3161 timestamps: ask a TSA for a token over some bytes, and verify a token against its CA.

ASN.1 and the CMS signature check are ``rfc3161-client``'s (a maintained library used by Sigstore), not ours. The
token is stored as the TSA's DER ``TimeStampResp`` (``.tsr``), which ``openssl ts -verify`` reads as it is.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cryptography.x509
import rfc3161_client

TIMEOUT = 30.0


class TimestampError(Exception):
    """The TSA could not be reached, refused, or its token does not verify."""


@dataclass(frozen=True)
class Stamp:
    token: bytes  # DER TimeStampResp
    gen_time: datetime
    serial: int


def request_stamp(data: bytes, tsa_url: str, timeout: float = TIMEOUT) -> Stamp:
    """A token over SHA-256(``data``) from the TSA at ``tsa_url`` (with a nonce, and the TSA's certificate)."""
    query = rfc3161_client.TimestampRequestBuilder().data(data).cert_request(cert_request=True).nonce(nonce=True).build()
    request = urllib.request.Request(tsa_url, data=query.as_bytes(), method="POST",
                                     headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured TSA URL
            body = response.read()
    except OSError as exc:
        raise TimestampError(f"TSA {tsa_url} unreachable: {exc}") from exc
    try:
        reply = rfc3161_client.decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"TSA {tsa_url} answered something that is no timestamp: {exc}") from exc
    if reply.status not in (rfc3161_client.PKIStatus.GRANTED, rfc3161_client.PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"TSA {tsa_url} refused: status {reply.status} {reply.status_string}")
    if reply.tst_info.nonce != query.nonce:
        raise TimestampError(f"TSA {tsa_url} answered another request (nonce mismatch)")
    return Stamp(body, reply.tst_info.gen_time, reply.tst_info.serial_number)


def load_roots(pem_file: Path) -> list[cryptography.x509.Certificate]:
    return cryptography.x509.load_pem_x509_certificates(pem_file.read_bytes())


def verify_stamp(token: bytes, data: bytes, roots: list[cryptography.x509.Certificate]) -> datetime:
    """The time the token vouches for ``data``; TimestampError when it is not a valid token over ``data``."""
    try:
        reply = rfc3161_client.decode_timestamp_response(token)
    except ValueError as exc:
        raise TimestampError(f"not a timestamp token: {exc}") from exc
    builder = rfc3161_client.VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(reply, data)
    except rfc3161_client.VerificationError as exc:
        raise TimestampError(str(exc)) from exc
    return reply.tst_info.gen_time
