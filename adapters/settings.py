"""One settings object, read from OMS_* environment variables; defaults give a local stack."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.codec import KeyRing
from domain import policy
from domain.policy import Timeouts

SEARCH_ATTRIBUTES = {
    "OrderStatus": "Keyword",
    "Channel": "Keyword",
    "ChannelOrderId": "Keyword",
    "MemberId": "Keyword",
    "LocationIds": "KeywordList",
    "OrderTotal": "Int",
    "PartStatuses": "KeywordList",
    "RefusalReason": "Keyword",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    env: str = Field("dev", description="dev or production; production refuses missing secrets")
    home: Path = Path(".oms")
    database_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "oms-orders"
    admin_token: str | None = None
    demo_data: bool = True
    payment_timeout_s: int = policy.PAYMENT_TIMEOUT_S
    accept_timeout_s: int = policy.ACCEPT_TIMEOUT_S
    substitution_wait_s: int = policy.SUBSTITUTION_WAIT_S
    merge_window_s: int = policy.MERGE_WINDOW_S
    pickup_expiry_s: int = policy.PICKUP_EXPIRY_S
    delivery_confirm_s: int = policy.DELIVERY_CONFIRM_S
    return_window_s: int = policy.RETURN_WINDOW_S
    min_credit_score: int = policy.MIN_CREDIT_SCORE
    payment_webhook_secret: str | None = None
    pickup_code_secret: str | None = None
    # Temporal payload encryption: {"<key id>": "<base64 AES-256 key>"}, and the id of the key
    # new payloads are sealed with (default: the last). Generated once under `home` in dev.
    payload_keys: str | None = None
    payload_key_id: str | None = None
    # where Temporal UI runs: its origin may call the codec endpoint (CORS)
    ui_url: str | None = None
    # Behind a TLS proxy: the address browsers use (the console's forms must come from it, and
    # its cookies are then Secure), and the proxies whose X-Forwarded-* headers are believed.
    public_origin: str | None = None
    forwarded_allow_ips: str = "127.0.0.1"
    repair_every_s: int = 600  # how often the scheduled repair sweep runs
    # channel events: the longest wait between attempts, when an event is given up, how long a
    # receiver is waited for, how often the pump looks for work when idle
    channel_events: bool = True  # record and deliver channel events (0: not at all)
    webhook_retry_max_s: int = 600
    webhook_give_up_s: int = 86_400
    webhook_timeout_s: float = 10.0
    events_poll_s: float = 0.2
    channel_sim_port: int = 8020
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8010
    gateway_url: str | None = None
    # A warehouse's execution system and the courier (simulated in the dev stack), and the
    # secrets their callbacks are signed with.
    wms_port: int = 8030
    wms_url: str | None = None
    wms_callback_secret: str | None = None
    courier_port: int = 8040
    courier_url: str | None = None
    courier_callback_secret: str | None = None
    sim_wms_delay_s: float = 5.0  # the simulated WMS: seconds to pick, and again to ship
    sim_courier_delay_s: float = 10.0  # the simulated courier: to in transit, to delivered
    api_url: str | None = None
    rate_limit_per_minute: int = 6000
    # The chain's own channels: they see a member's orders from every channel; marketplaces
    # (tmall, jd, meituan, ...) see only orders placed through them.
    first_party_channels: list[str] = list(policy.FIRST_PARTY_CHANNELS)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'oms.db').resolve()}"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def gateway_base_url(self) -> str:
        return self.gateway_url or f"http://127.0.0.1:{self.gateway_port}"

    @property
    def wms_base_url(self) -> str:
        return self.wms_url or f"http://127.0.0.1:{self.wms_port}"

    @property
    def courier_base_url(self) -> str:
        return self.courier_url or f"http://127.0.0.1:{self.courier_port}"

    @property
    def api_base_url(self) -> str:
        return self.api_url or f"http://127.0.0.1:{self.api_port}"

    def timeouts(self) -> Timeouts:
        return Timeouts(
            payment_s=self.payment_timeout_s,
            accept_s=self.accept_timeout_s,
            pickup_expiry_s=self.pickup_expiry_s,
            delivery_confirm_s=self.delivery_confirm_s,
            return_window_s=self.return_window_s,
            substitution_wait_s=self.substitution_wait_s,
        )

    def key_ring(self) -> KeyRing:
        """The keys Temporal payloads are sealed with (generated once in dev)."""
        text = self.payload_keys
        if not text:
            if self.env != "dev":
                raise RuntimeError("OMS_PAYLOAD_KEYS must be set outside dev mode")
            path = self.home / "payload_keys.json"
            if not path.exists():
                self.home.mkdir(parents=True, exist_ok=True)
                path.write_text(KeyRing.new_json())
                path.chmod(0o600)
            text = path.read_text()
        return KeyRing.from_json(text, self.payload_key_id)

    @property
    def channel_sim_url(self) -> str:
        return f"http://127.0.0.1:{self.channel_sim_port}"

    @property
    def ui_origin(self) -> str:
        return (self.ui_url or f"http://127.0.0.1:{self.ui_port}").rstrip("/")

    def secret(self, name: str) -> str:
        """A secret from the environment; in dev, generated once and kept under `home`."""
        value = getattr(self, name)
        if value:
            return str(value)
        if self.env != "dev":
            raise RuntimeError(f"OMS_{name.upper()} must be set outside dev mode")
        path = self.home / name
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
