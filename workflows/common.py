"""What both workflows share: how a short database step runs (a local activity)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

LOCAL_TIMEOUT = timedelta(seconds=30)


async def run_local(
    name: str,
    arg: object,
    *,
    summary: str,
    result_type: type | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Any:
    """Run the activity `name` as a local activity: recorded as a marker, no server round trip."""
    return await workflow.execute_local_activity(
        name,
        arg,
        result_type=result_type,
        summary=summary,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=retry_policy,
    )
