"""The payload codec: sealed payloads say which key sealed them, and a new key takes over while
payloads sealed with an older one are still read."""

from __future__ import annotations

import base64

import pytest
from temporalio.api.common.v1 import Payload

from adapters.codec import EncryptionCodec, KeyRing
from tests.conftest import TEST_KEYS

pytestmark = pytest.mark.unit


async def test_a_sealed_payload_is_unreadable_and_opens_again() -> None:
    codec = EncryptionCodec(KeyRing.from_json(TEST_KEYS))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"phone": "13800000001"}')
    [sealed] = await codec.encode([plain])
    assert b"13800000001" not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == b"test-k1"
    assert (await codec.decode([sealed])) == [plain]
    [again] = await codec.encode([plain])
    assert again.data != sealed.data  # a fresh nonce every time


async def test_a_new_key_takes_over_and_the_old_one_still_opens_what_it_sealed() -> None:
    old = KeyRing.from_json(TEST_KEYS)
    new_key = base64.b64encode(b"k" * 32).decode()
    both = KeyRing.from_json(TEST_KEYS.rstrip("}") + f', "test-k2": "{new_key}"' + "}")
    assert both.current == "test-k2"
    [sealed_old] = await EncryptionCodec(old).encode([Payload(data=b"x")])
    assert (await EncryptionCodec(both).decode([sealed_old]))[0].data == b"x"
    [sealed_new] = await EncryptionCodec(both).encode([Payload(data=b"y")])
    assert sealed_new.metadata["encryption-key-id"] == b"test-k2"
    with pytest.raises(ValueError, match="test-k2"):
        await EncryptionCodec(old).decode([sealed_new])


def test_keys_must_be_aes_256() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing.from_json('{"k": "' + base64.b64encode(b"short").decode() + '"}')
