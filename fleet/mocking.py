"""Run a Pulumi program offline under Pulumi's own mocks and return what it registered.

Used by `fleet preview`/`build`/`diff`, the tests and the benchmarks: one harness, so
every consumer sees the same inventory for the same program.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "cellfleet"
# How the SDK marks special values on the wire (a secret is {sig: secret_sig, "value": …}).
_SIG_KEY = pulumi_rpc._special_sig_key
_SECRET_SIG = pulumi_rpc._special_secret_sig


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


def _availability_zones(args: dict[str, Any]) -> dict[str, Any]:
    """`aws.getAvailabilityZones`: six zones `<region>a`…`f` (region from the invoke, else `us-east-1`)."""
    region = args.get("region") or "us-east-1"
    letters = "abcdef"
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{region[:3]}{region.split('-')[-1]}-az{i + 1}" for i in range(len(letters))],
        "groupNames": [region] * len(letters),
        "state": args.get("state") or "available",
    }


def _eks_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.setdefault("clusterSecurityGroupId", f"sg-{name}-cluster")
    vpc_config.setdefault("vpcId", "vpc-mock")
    return {
        "endpoint": f"https://{name}.mock.eks.amazonaws.com",
        "certificateAuthority": {"data": "bW9jay1jYQ=="},
        "vpcConfig": vpc_config,
        "status": "ACTIVE",
    }


def _rds_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    identifier = inputs.get("clusterIdentifier") or name
    return {
        "clusterIdentifier": identifier,
        "endpoint": f"{identifier}.cluster-mock.rds.amazonaws.com",
        "readerEndpoint": f"{identifier}.cluster-ro-mock.rds.amazonaws.com",
    }


def _function_url(name: str, _inputs: dict[str, Any]) -> dict[str, Any]:
    return {"functionUrl": f"https://{name}.lambda-url.us-east-1.on.aws/", "urlId": name}


def _lambda_function(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{inputs.get('name', name)}"
    return {"invokeArn": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"}


def _rest_api(name: str, _inputs: dict[str, Any]) -> dict[str, Any]:
    return {"executionArn": f"arn:aws:execute-api:us-east-1:123456789012:{name}-id"}


def _api_stage(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"invokeUrl": f"https://{name}.execute-api.us-east-1.amazonaws.com/{inputs.get('stageName', '')}"}


# Attributes the provider would compute, per resource type: (logical name, inputs) -> extra state.
COMPUTED: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:apigateway/stage:Stage": _api_stage,
    "aws:lambda/function:Function": _lambda_function,
    "aws:apigateway/restApi:RestApi": _rest_api,
}
CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {"accountId": "123456789012", "arn": "", "userId": ""},
    "aws:index/getRegion:getRegion": lambda _: {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"},
}


class FleetMocks(pulumi.runtime.Mocks):
    """Deterministic ids and computed attributes for every resource and invoke the programs use."""

    def __init__(self, calls: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None) -> None:
        self.calls = {**CALLS, **dict(calls or {})}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        kind = args.typ.split(":")[-1].lower()
        state: dict[str, Any] = {
            "arn": f"arn:aws:mock:::{kind}/{args.name}",
            "id": resource_id,
            "name": args.name,  # what auto-naming would derive from; inputs override
            **args.inputs,
        }
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, args.inputs))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        handler = self.calls.get(args.token)
        if handler is not None:
            return handler(dict(args.args)), []
        return dict(args.args), []


class _Captured(threading.local):
    inputs: dict[str, Any] = {}  # noqa: RUF012 - per thread, overwritten on each registration


_CAPTURED = _Captured()


class _Capturing(pulumi.runtime.Mocks):
    """The mocks, keeping the inputs the SDK deserialised for `new_resource` (thread-local: the
    monitor answers on executor threads), so the recording monitor need not deserialise them again."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        self.inner = mocks

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        _CAPTURED.inputs = args.inputs
        return self.inner.new_resource(args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        return self.inner.call(args)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also keeps each registration's type, parent and options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(_Capturing(mocks))
        self.order: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = _CAPTURED.inputs  # as the SDK deserialised them for the mocks, on this thread
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
        if value.get(_SIG_KEY) == _SECRET_SIG:  # a secret on the wire: keep its (mock) value
            return _plain(value.get("value"))
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
    loop = asyncio.new_event_loop()  # private loop: closed below with its executor threads
    asyncio.set_event_loop(loop)
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
        with _no_source_positions():
            _sync_await(run_pulumi_func(runner))
    finally:
        pulumi_settings.ROOT.set(None)
        _close_loop(loop)
        asyncio.set_event_loop(asyncio.new_event_loop())
    return Inventory(stack=stack, resources=tuple(monitor.order), outputs=_plain(holder.get("outputs") or {}))


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Skip the SDK's per-resource stack walk (source positions for the engine's UI).

    Mocks have no UI; the walk costs ~15% of a cell program's run. Restored afterwards.
    """
    original = getattr(pulumi_resource, "_get_stack_trace", None)
    if original is None:
        yield
        return
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left, stop the loop's executor threads and close it.

    The mock monitor answers each registration on the loop's default executor, and every
    executor thread keeps its own event loop full of that run's resources: a loop left open
    keeps its threads and their memory alive (6 threads and ~1 MiB per cell program).
    """
    if loop.is_closed() or loop.is_running():
        return
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def new_event_loop() -> None:
    """Give the current thread a fresh event loop (tests use this in an autouse fixture).

    The previous loop, if idle, is closed so that its executor threads end.
    """
    try:
        previous = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        previous = None
    if previous is not None:
        _close_loop(previous)
    asyncio.set_event_loop(asyncio.new_event_loop())
