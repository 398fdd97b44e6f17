"""Shared fixtures: an injected clock (no test sleeps for real), the loopback sandbox, client factories."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dagster_sixtyfour import SixtyfourClient

API_KEY = "sk-test-7d1f0c2b9a"


class FakeClock:
    """Monotonic and wall clocks that only move when told to; ``sleep`` records and advances."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    clock: FakeClock,
    *,
    base_url: str = "https://api.sixtyfour.test",
    api_key: str = API_KEY,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    download_handler: Callable[[httpx.Request], httpx.Response] | None = None,
    **settings: Any,
) -> SixtyfourClient:
    """A client whose time is ``clock`` and, when handlers are given, whose HTTP is an ``httpx.MockTransport``."""
    settings.setdefault("poll_interval", 10.0)
    return SixtyfourClient(
        api_key=api_key,
        base_url=base_url,
        transport=httpx.MockTransport(handler) if handler else None,
        download_transport=httpx.MockTransport(download_handler) if download_handler else None,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
        rng=random.Random(7),
        **settings,
    )


class Script:
    """A MockTransport handler that answers from a list of steps and records every request.

    A step is an ``httpx.Response``, an exception instance to raise, or a callable taking the request.
    The last step repeats when the script runs out.
    """

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            result = step(request)
            if isinstance(result, BaseException):
                raise result
            return result  # type: ignore[no-any-return]
        return step  # type: ignore[no-any-return]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) if r.content else {} for r in self.requests]

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def ok(payload: dict[str, Any], status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def status_body(state: str, task_id: str = "t-1", **extra: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": state, "start_time": "2026-12-04T10:00:00Z", **extra}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger that could see a secret at DEBUG, as Dagster's log capture may set them."""
    names = ["", "httpx", "httpcore", "httpcore.http11", "httpcore.connection", "dagster_sixtyfour"]
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for n, level in old.items():
        logging.getLogger(n).setLevel(level)
