"""Certificates of the lab's TLS servers, made fresh at every start with trustme.

The lab has its own certificate authority. A client that trusts it (see
`LabCertificates.ca_pem`) meets exactly one failing check per server: the
chain of the self-signed server, the validity dates of the expired one and
the host name of the wrong-host one. The expiring server passes every check
and expires within a week, so that expiry warnings can be seen.
"""

import ssl
from datetime import UTC, datetime, timedelta

import trustme

EXPIRING_IN = timedelta(days=7)
LAB_IDENTITIES = ("127.0.0.1", "::1", "localhost")
WRONG_HOST = "wrong-host.invalid"


def _server_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


class LabCertificates:
    """A lab certificate authority and the server contexts of the TLS servers."""

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="NOC Watch lab")

    @property
    def ca_pem(self) -> bytes:
        """Return the lab authority's certificate, for a client that should trust the lab."""
        return self._ca.cert_pem.bytes()

    def context_for(self, server_name: str) -> ssl.SSLContext:
        """Return the server-side TLS context of a lab TLS server."""
        now = datetime.now(UTC)
        context = _server_context()
        match server_name:
            case "tls-self-signed":
                # A second authority's own certificate is self-signed and outside the lab chain.
                stranger = trustme.CA(organization_name="NOC Watch lab self-signed")
                with (
                    stranger.cert_pem.tempfile() as cert_file,
                    stranger.private_key_pem.tempfile() as key_file,
                ):
                    context.load_cert_chain(cert_file, key_file)
            case "tls-expired":
                self._ca.issue_cert(
                    *LAB_IDENTITIES,
                    not_before=now - timedelta(days=30),
                    not_after=now - timedelta(days=1),
                ).configure_cert(context)
            case "tls-wrong-host":
                self._ca.issue_cert(WRONG_HOST).configure_cert(context)
            case "tls-expiring":
                self._ca.issue_cert(
                    *LAB_IDENTITIES,
                    not_before=now - timedelta(days=1),
                    not_after=now + EXPIRING_IN,
                ).configure_cert(context)
            case _:
                raise ValueError(f"lab server {server_name!r} does not serve TLS")
        return context
