"""Which certificate authorities https connections trust: one SSL context per
process (per ``ca_certs``), shared by every connection.

The trust store is the system's, as for the Go resource (Go's
``crypto/x509`` on Linux trusts the CA bundle file and every certificate in
the CA directories, ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` replacing them),
else certifi's; ``source.ca_certs`` are added to it, never substituted.

Parsing the whole CA bundle costs tens of milliseconds of CPU, more than a
check's requests, and Concourse starts a check every minute for every
resource. The system's CA directory (``/etc/ssl/certs`` on Debian, as
OpenSSL names it) holds the same certificates under subject-hash names
(``update-ca-certificates``, ``openssl rehash``), and OpenSSL reads from it
only the certificate a verification asks for. So when that directory is
hashed, it stands in for the system bundle file; a bundle named by the
environment is read as given. Not with ``ca_certs``: OpenSSL looks in the
directory only for an issuer whose name no loaded certificate has, so a
``ca_certs`` entry named as a system CA would hide that CA; then the system
bundle is read whole, as before, once per process.

- ``REQUESTS_CA_BUNDLE`` (a file or a hashed directory), as in requests:
  replaces the system trust.
- ``SSL_CERT_FILE``, ``SSL_CERT_DIR`` (directories separated by ``:``), as
  in OpenSSL and Go: replace the system's bundle file, the system's
  directory.
- A variable that names the system bundle itself changes nothing.
"""

from __future__ import annotations

import functools
import os
import ssl

from registry_image.api import ConfigError

BUNDLE_ENV = "REQUESTS_CA_BUNDLE"
TRUST_ENV = (BUNDLE_ENV, "SSL_CERT_FILE", "SSL_CERT_DIR")


def _is_hash_name(name: str) -> bool:
    """``0a1b2c3d.0``: how ``openssl rehash`` names a CA certificate."""
    stem, dot, number = name.partition(".")
    return (
        dot == "."
        and len(stem) == 8
        and number.isdigit()
        and all(c in "0123456789abcdef" for c in stem)
    )


def is_hashed_directory(path: str | None) -> bool:
    """Whether ``path`` is a directory with subject-hash named certificates."""
    if not path:
        return False
    try:
        with os.scandir(path) as entries:
            return any(_is_hash_name(entry.name) for entry in entries)
    except OSError:
        return False


def _same_file(one: str | None, other: str | None) -> bool:
    try:
        return bool(one and other) and os.path.samefile(one, other)  # type: ignore[arg-type]
    except OSError:
        return False


def system_trust_locations(*, lazy: bool = True) -> tuple[str | None, str | None]:
    """``(cafile, capath)`` to load for the system's trust (``capath`` may
    list directories separated by ``:``), the environment honoured; certifi's
    bundle when the system has none. ``lazy``: the system's hashed directory
    stands in for the system bundle file."""
    paths = ssl.get_default_verify_paths()
    system_file, system_dir = paths.openssl_cafile, paths.openssl_capath
    bundle = os.environ.get(BUNDLE_ENV)
    if bundle and not _same_file(bundle, system_file):
        return (None, bundle) if os.path.isdir(bundle) else (bundle, None)
    cafile: str | None = paths.cafile  # SSL_CERT_FILE or the system's, None when absent
    directories = [d for d in (paths.capath or "").split(":") if os.path.isdir(d)]
    if lazy and _same_file(cafile, system_file) and is_hashed_directory(system_dir):
        # The system bundle is the concatenation of the system's hashed
        # directory: read from that only what a verification needs.
        cafile = None
        if not any(_same_file(d, system_dir) for d in directories):
            directories.append(system_dir)
    if cafile is None and not any(is_hashed_directory(d) for d in directories):
        import certifi

        cafile = certifi.where()
    return cafile, ":".join(directories) or None


def _new_context() -> ssl.SSLContext:
    # What urllib3 would build for each connection, verifying certificates
    # and host names; its trust is loaded by the caller.
    from urllib3.util.ssl_ import create_urllib3_context

    return create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)


@functools.lru_cache(maxsize=16)
def _context(ca_certs: tuple[str, ...], environment: tuple[str | None, ...]) -> ssl.SSLContext:
    del environment  # part of the cache key only
    context = _new_context()
    for number, pem in enumerate(ca_certs):
        try:
            context.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise ConfigError(f"source.ca_certs[{number}]: no PEM certificate in it") from None
    cafile, capath = system_trust_locations(lazy=not ca_certs)
    try:
        context.load_verify_locations(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or "unreadable"
        where = cafile or capath
        raise ConfigError(f"cannot load the trusted CAs from {where}: {reason}") from None
    return context


def trust_context(ca_certs: tuple[str, ...] = ()) -> ssl.SSLContext:
    """The SSL context https connections use: the system's trust plus
    ``ca_certs`` (PEM texts); built once per process for each ``ca_certs``
    (and trust environment). ``ConfigError`` naming a ``ca_certs`` entry
    that holds no PEM certificate."""
    return _context(tuple(ca_certs), tuple(os.environ.get(name) for name in TRUST_ENV))
