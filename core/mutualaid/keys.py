"""The operator's key: members' ID numbers encrypted at rest, their keyed hashes, identity seals.

The key is 32 random bytes in a file the operator keeps outside the database:
``$MUTUALAID_KEY_FILE``, by default ``$MUTUALAID_HOME/keys/mutualaid.key`` (mode 0600). Four keys
are derived from it with HKDF-SHA256, one per use, so that no value computed with one tells
anything about another:

* ``encrypt``: AES-256-GCM of an ID number, a fresh 96-bit nonce per value, the pool's number as
  associated data (a value copied into another pool does not decrypt);
* ``lookup``: HMAC-SHA256 of an ID number, the same for the same number: uniqueness (one live
  membership per person and pool) and finding a member by ID number, without decrypting anything;
* ``seal``: HMAC-SHA256 over a member's identity (pool, number, name, ID number, birth date,
  joining day): ``ledger verify`` recomputes it and names a member changed in the database;
* ``check``: a fixed value the database keeps, so that a wrong or a new key is refused before it
  writes anything (see :mod:`mutualaid.members.sealing`).

This module holds no state and touches no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .errors import KeyFileError

__all__ = [
    "KEY_FILE_ENV",
    "IdentityKeys",
    "create_key",
    "home_directory",
    "key_file",
    "load_key",
    "seal_encoding",
]

#: The environment variable naming the key file (default: ``keys/mutualaid.key`` in the home directory).
KEY_FILE_ENV = "MUTUALAID_KEY_FILE"
#: The first byte of every encrypted value: the format (AES-256-GCM, nonce first, base64).
_FORMAT = "1"
_NONCE = 12
_SIZE = 32
_HEADER = (
    "# mutualaid's key: members' ID numbers are encrypted under it and their identities sealed with it.\n"
    "# Back this file up apart from the database: without it the ID numbers cannot be read.\n"
)


def home_directory() -> Path:
    """``$MUTUALAID_HOME``, else ``$XDG_DATA_HOME/mutualaid`` (``~/.local/share/mutualaid``)."""
    home = os.environ.get("MUTUALAID_HOME")
    if home:
        return Path(home)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "mutualaid"


def key_file() -> Path:
    """Where the key is: ``$MUTUALAID_KEY_FILE``, else ``keys/mutualaid.key`` in the home directory."""
    given = os.environ.get(KEY_FILE_ENV)
    if given:
        return Path(given).expanduser()
    return home_directory() / "keys" / "mutualaid.key"


def _derive(secret: bytes, purpose: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=_SIZE, salt=None, info=f"mutualaid {purpose} v1".encode()).derive(
        secret
    )


class IdentityKeys:
    """The keys derived from the operator's key, and what is computed with them."""

    def __init__(self, secret: bytes, path: Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(secret) != _SIZE:
            raise KeyFileError(f"the key file {path} does not hold a mutualaid key (32 bytes in base64)")
        self.path = path
        self._aead = AESGCM(_derive(secret, "id-number encryption"))
        self._lookup = _Hmac(_derive(secret, "id-number lookup"))
        self._seal = _Hmac(_derive(secret, "identity seal"))
        self.check_value = hmac.digest(_derive(secret, "key check"), b"mutualaid", "sha256").hex()

    def lookup(self, id_number: str) -> str:
        """The keyed hash of an ID number: HMAC-SHA256 cut to 128 bits (32 hex digits, plenty to tell
        every person apart and half the index of the whole digest), equal for equal numbers."""
        return self._lookup.digest(id_number.encode())[:16].hex()

    def encrypt(self, pool_id: int, id_number: str) -> str:
        """An ID number encrypted for the pool (a fresh nonce each time: equal numbers differ)."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, id_number.encode(), _associated(pool_id))
        return _FORMAT + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, pool_id: int, token: str) -> str | None:
        """The ID number in ``token``, or ``None`` when it was not encrypted under this key for
        this pool (a wrong key, a value changed or copied from another pool)."""
        from cryptography.exceptions import InvalidTag

        if not token.startswith(_FORMAT):
            return None
        try:
            raw = base64.b64decode(token[len(_FORMAT) :], validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _associated(pool_id)).decode()
        except (InvalidTag, ValueError, binascii.Error):
            return None

    def seal(self, fields: Iterable[object]) -> str:
        """The seal of ``fields``: HMAC-SHA256 (64 hex digits) over each field's text prefixed with
        its length, so that no two different lists of fields read the same."""
        return self._seal.digest(seal_encoding(fields).encode()).hex()

    def seal_encoded(self, message: str) -> str:
        """The seal of fields already encoded with :func:`seal_encoding` (their encodings joined):
        ``seal(a + b) == seal_encoded(seal_encoding(a) + seal_encoding(b))``. An import encodes the
        fields it knows while checking a row, and adds the member number when it has one."""
        return self._seal.digest(message.encode()).hex()


def seal_encoding(fields: Iterable[object]) -> str:
    """The text :meth:`IdentityKeys.seal` signs for ``fields``: each one's text prefixed with its
    length in characters and a colon."""
    return "".join([f"{len(text)}:{text}" for text in map(str, fields)])


class _Hmac:
    """HMAC-SHA256 (RFC 2104) under one 32-byte key, its padded key's hashes computed once: twice
    as fast as :func:`hmac.digest` per value, which counts at import scale (see
    ``benchmarks/import_members.py``)."""

    def __init__(self, key: bytes) -> None:
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _associated(pool_id: int) -> bytes:
    return b"mutualaid id-number pool %d" % pool_id


def load_key(path: Path | None = None) -> IdentityKeys | None:
    """The keys of the key file (default :func:`key_file`), or ``None`` when there is no file.

    :raises KeyFileError: when the file cannot be read or holds no key.
    """
    path = path or key_file()
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is not a key file"
        raise KeyFileError(f"cannot read the key file {path}: {reason}; check {KEY_FILE_ENV}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    try:
        secret = base64.b64decode(lines[0], validate=True) if len(lines) == 1 else b""
    except (ValueError, binascii.Error):
        secret = b""
    return IdentityKeys(secret, path)


def create_key(path: Path | None = None, *, announce: bool = True) -> IdentityKeys:
    """Make a new key file (mode 0600, its directory 0700 when made) and tell the operator on
    stderr, once, where it is and to back it up. An existing file is never overwritten.

    :raises KeyFileError: when the file cannot be written (or appeared meanwhile).
    """
    path = path or key_file()
    secret = os.urandom(_SIZE)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(
            f"the key file {path} appeared while a new one was being made; run the command again"
        ) from None
    except OSError as exc:
        raise KeyFileError(
            f"cannot create the key file {path}: {exc.strerror or exc}; set {KEY_FILE_ENV} to a writable place"
        ) from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(_HEADER + base64.b64encode(secret).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if announce:
        sys.stderr.write(
            f"mutualaid: created the key for members' ID numbers in {path} (readable by you only); back it up now, "
            "apart from the database: without it the ID numbers cannot be read\n"
        )
    return IdentityKeys(secret, path)
