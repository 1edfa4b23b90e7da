"""The NPPA wire format: the encrypted body and the request signature.

As the NPPA interface specification and the public SDKs (smartwalle/wlc in Go,
ganlvtech/php-real-name-sdk in PHP) do it:

- body: ``{"data": base64(iv[12] ‖ AES-128-GCM ciphertext ‖ tag[16])}``, the key being the
  hex-decoded secret key (32 hex digits, 16 bytes), no associated data;
- ``sign = sha256_hex(secret_key + "".join(key + value for the sorted headers appId, bizId,
  timestamps and any query parameters) + body)``, where ``secret_key`` is the hex text itself.

A GET (``query``) has no body: the signature covers the empty string. (The PHP SDK at the
commit read sends the secret as `bizId` and encrypts an empty body for GET, which look like
its own bugs; the Go SDK does what is done here.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

IV_BYTES = 12
TAG_BYTES = 16


class BodyError(ValueError):
    """A body that does not decrypt with the key (wrong key, tampered, or not base64)."""


def key_bytes(secret_key: str) -> bytes:
    """The AES key: the secret's 32 hex digits decoded. Anything else is refused here, so a
    mistyped secret fails at start-up rather than as error 1011 on every call."""
    try:
        key = bytes.fromhex(secret_key)
    except ValueError:
        raise ValueError("the NPPA secret key must be 32 hexadecimal digits") from None
    if len(key) != 16:
        raise ValueError("the NPPA secret key must be 32 hexadecimal digits")
    return key


def compact_json(value: Any) -> str:
    """JSON as the SDKs send it: no spaces, non-ASCII (names) as UTF-8, not escaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encrypt(secret_key: str, plaintext: bytes, iv: bytes | None = None) -> str:
    """base64(iv ‖ ciphertext ‖ tag). ``iv`` is random unless given (test vectors only)."""
    iv = iv if iv is not None else os.urandom(IV_BYTES)
    if len(iv) != IV_BYTES:
        raise ValueError(f"the GCM nonce is {IV_BYTES} bytes")
    sealed = AESGCM(key_bytes(secret_key)).encrypt(iv, plaintext, None)
    return base64.b64encode(iv + sealed).decode("ascii")


def decrypt(secret_key: str, data: str) -> bytes:
    """The plaintext of ``data`` (as `encrypt` makes it); `BodyError` if it does not open."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BodyError("the body's `data` is not base64") from None
    if len(raw) < IV_BYTES + TAG_BYTES:
        raise BodyError("the body's `data` is too short to hold a nonce and a tag")
    try:
        return AESGCM(key_bytes(secret_key)).decrypt(raw[:IV_BYTES], raw[IV_BYTES:], None)
    except InvalidTag:
        raise BodyError("the body does not decrypt with this key") from None


def seal_body(secret_key: str, payload: Any, iv: bytes | None = None) -> str:
    """The request body for ``payload``: ``{"data": "<encrypted compact JSON>"}``."""
    data = encrypt(secret_key, compact_json(payload).encode("utf-8"), iv)
    return compact_json({"data": data})


def open_body(secret_key: str, body: str) -> Any:
    """The payload of a sealed body; `BodyError` when it is not one."""
    try:
        wrapper = json.loads(body)
    except ValueError:
        raise BodyError("the body is not JSON") from None
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("data"), str):
        raise BodyError('the body must be {"data": "<base64>"}')
    try:
        return json.loads(decrypt(secret_key, wrapper["data"]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, BodyError):
            raise
        raise BodyError("the decrypted body is not JSON") from None


def sign(secret_key: str, params: Mapping[str, str], body: str) -> str:
    """The `sign` header over ``params`` (appId, bizId, timestamps and the query) and ``body``.

    Pairs are ordered by name, as the Go SDK's sort of "name+value" strings and the PHP SDK's
    ksort both give for these names."""
    joined = "".join(f"{name}{params[name]}" for name in sorted(params))
    return hashlib.sha256(f"{secret_key}{joined}{body}".encode()).hexdigest()
