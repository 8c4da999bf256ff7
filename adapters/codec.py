"""Personal data sealed in Temporal: a payload codec that encrypts every workflow and activity
payload with AES-GCM before it leaves this process, so that nothing readable (phones, names,
addresses, pickup code hashes) reaches Temporal's storage. Keys have ids: a payload names the
key it was sealed with, so a new key can take over while payloads sealed with an older one are
still read (rotation: add the new key, make it current, keep the old ones)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


@dataclass(frozen=True)
class KeyRing:
    """AES-256 keys by id, and the id of the one new payloads are sealed with."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def from_json(cls, text: str, current: str | None = None) -> KeyRing:
        """`{"<key id>": "<base64 of 32 bytes>", ...}`; the current key defaults to the last."""
        raw = json.loads(text)
        if not isinstance(raw, dict) or not raw:
            raise ValueError("payload keys: a JSON object of key id to base64 key")
        keys = {str(k): base64.b64decode(v) for k, v in raw.items()}
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"payload key {kid}: 32 bytes (AES-256) are needed")
        chosen = current or list(keys)[-1]
        if chosen not in keys:
            raise ValueError(f"payload key {chosen} is not among the keys")
        return cls(keys, chosen)

    @staticmethod
    def new_json(key_id: str = "k1") -> str:
        return json.dumps({key_id: base64.b64encode(os.urandom(32)).decode()})


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {kid: AESGCM(key) for kid, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, p: Payload) -> Payload:
        kid = self.ring.current
        nonce = os.urandom(12)
        sealed = self._ciphers[kid].encrypt(nonce, p.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed)

    def open(self, p: Payload) -> Payload:
        if p.metadata.get("encoding") != ENCODING:
            return p  # not sealed (written before the codec, or by another client)
        kid = p.metadata[KEY_ID].decode()
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise ValueError(f"payload sealed with key {kid}, which this process does not have")
        return Payload.FromString(cipher.decrypt(p.data[:12], p.data[12:], kid.encode()))
