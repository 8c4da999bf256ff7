"""A Python client for Omni OMS's channel API: `OmsClient` for the calls, `verify_event` for the
webhooks, and the API's schemas as TypedDicts in `omni_oms_client.types`."""

from omni_oms_client.client import OmsClient, OmsError
from omni_oms_client.events import InvalidEvent, verify_event

__all__ = ["InvalidEvent", "OmsClient", "OmsError", "verify_event"]
__version__ = "1.0.0"
