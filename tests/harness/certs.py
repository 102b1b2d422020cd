"""Keys and X.509 certificates for the test registries, made in memory.

Two uses: the RSA key and self-signed certificate the token server signs
JWTs with (the registry trusts that certificate as its ``rootcertbundle``),
and a CA plus a server certificate for 127.0.0.1/localhost when a registry
serves HTTPS.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Sequence

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

VALIDITY = datetime.timedelta(days=2)
# Certificates start a little in the past so clock skew never makes them "not yet valid".
BACKDATE = datetime.timedelta(hours=1)


@attrs.frozen
class KeyPair:
    """A private key and the certificate for its public key."""

    key: PrivateKey = attrs.field(repr=False)
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def cert_pem(self) -> bytes:
        """The certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_der_base64(self) -> str:
        """The certificate as standard base64 of its DER, as a JWS ``x5c`` entry."""
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: str, issuer: str, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
    )


def token_signing_pair(common_name: str = "test-token-signer") -> KeyPair:
    """An RSA-2048 key with a self-signed certificate, for RS256 JWTs.

    The certificate is both the JWT header's ``x5c`` chain and the registry's
    trust root, so the registry accepts any token signed with ``key``.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _builder(common_name, common_name, key.public_key()).sign(key, hashes.SHA256())
    return KeyPair(key, cert)


def ca_and_server_pair(
    common_name: str = "127.0.0.1", dns_names: Sequence[str] = ()
) -> tuple[KeyPair, KeyPair]:
    """A CA and a server certificate it signed, valid for 127.0.0.1 and
    localhost, and for ``dns_names``.

    Returns ``(ca, server)``. Clients trust ``ca.cert_pem``; the registry
    serves ``server``.
    """
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _builder("test-registry-ca", "test-registry-ca", ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder(common_name, "test-registry-ca", server_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                    *(x509.DNSName(name) for name in dns_names),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(ca_key, ca_cert), KeyPair(server_key, server_cert)
