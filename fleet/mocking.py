"""Run a Pulumi program offline under Pulumi's own mocks and return what it registered.

Used by `fleet preview`/`build`/`diff`, the tests and the benchmarks: one harness, so
every consumer sees the same inventory for the same program.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "cellfleet"


@dataclass(frozen=True)
class Registered:
    """One resource as the engine would have seen it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    provider: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inventory:
    """Everything a program registered, in registration order, plus its stack outputs."""

    stack: str
    resources: tuple[Registered, ...]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, Registered]:
        return {r.urn: r for r in self.resources}


class FleetMocks(pulumi.runtime.Mocks):
    """Deterministic ids and computed attributes for every resource and invoke the programs use."""

    def __init__(self, calls: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None) -> None:
        self.calls = dict(calls or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        kind = args.typ.split(":")[-1].lower()
        state: dict[str, Any] = {
            "arn": f"arn:aws:mock:::{kind}/{args.name}",
            "id": resource_id,
            **args.inputs,
        }
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        handler = self.calls.get(args.token)
        if handler is not None:
            return handler(dict(args.args)), None
        return dict(args.args), None


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also keeps each registration's type, parent and options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.order: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.order.append(
                Registered(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    provider=request.provider,
                    inputs=_plain(inputs),
                    state=_plain(self.resources[response.urn].state) if response.urn in self.resources else {},
                    depends_on=tuple(request.dependencies),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    replace_on_changes=tuple(request.replaceOnChanges),
                )
            )
        return response


def _plain(value: Any) -> Any:
    """Strip Pulumi's wire markers (resource references, secrets) into plain JSON-able data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return str(value)


def run_program(
    program: Callable[[], None],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> Inventory:
    """Run `program` as stack `stack` of project cellfleet under mocks; return its inventory.

    `config` keys are full Pulumi config keys (`cellfleet:registryTable`, `aws:region`).
    Each call starts from a fresh root stack and monitor, so many programs can run in one process.
    """
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config or {}))
    monitor = _RecordingMonitor(mocks or FleetMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    holder: dict[str, Any] = {}

    async def body() -> None:
        program()
        root = pulumi_settings.get_root_resource()
        exported = dict(getattr(root, "outputs", {}) or {})
        holder["outputs"] = await pulumi.Output.from_input(exported).future()

    def runner() -> Any:
        return body()

    try:
        _sync_await(run_pulumi_func(runner))
    finally:
        pulumi_settings.ROOT.set(None)
    return Inventory(stack=stack, resources=tuple(monitor.order), outputs=_plain(holder.get("outputs") or {}))


def new_event_loop() -> None:
    """Give the current thread a fresh event loop (tests use this in an autouse fixture)."""
    asyncio.set_event_loop(asyncio.new_event_loop())
