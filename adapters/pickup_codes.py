"""Pickup codes: six digits derived from the part's id with a secret (HMAC-SHA256). The API
shows a waiting part's code to its channel without asking the workflow, and a workflow that is
reset issues the same code again. Only the code's hash is stored."""

from __future__ import annotations

import hashlib
import hmac

from domain.fulfilment import code_hash


class PickupCodes:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def code(self, fulfilment_id: str) -> str:
        digest = hmac.new(self._key, f"pickup:{fulfilment_id}".encode(), hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"

    def hash(self, fulfilment_id: str) -> str:
        return code_hash(fulfilment_id, self.code(fulfilment_id))
