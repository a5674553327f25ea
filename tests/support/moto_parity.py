"""A parity fix for moto's Step Functions execution mode (moto 5.2.x), used by tests and benchmarks.

moto's ASL interpreter (ported from LocalStack) keeps LocalStack's request/response
normalisation helpers but leaves the hooks that call them empty. AWS service integrations
whose SDK casing differs from ASL's PascalCase are then broken: `states:startExecution`
sends `StateMachineArn` where boto expects `stateMachineArn` (KeyError), and the child's
DescribeExecution result comes back camelCase where AWS returns `Error`, `Cause`, `Output`.

moto's SendTaskFailure response handler drops the `cause` (the deployer's or approver's reason),
so it is passed through as AWS does.

moto's CloudWatch DescribeAlarms also drops `StateValue` when `AlarmNamePrefix` is given
(AWS applies both filters), which would make every OK alarm look like it is firing.

`apply()` wires the two hooks of the `states` integration to moto's own helpers, using
botocore's service model for the shapes. It changes nothing else; other integrations
(SNS, EventBridge, DynamoDB, aws-sdk) already take PascalCase parameters in boto3.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import botocore.session

_APPLIED: dict[str, bool] = {}


@cache
def _operation(service: str, action: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if name.lower() == action.replace("_", "").lower():
            return model.operation_model(name)
    raise KeyError(f"{service}:{action}")


def apply() -> None:
    """Patch moto's `states` integration once per process (idempotent)."""
    if _APPLIED.get("sfn"):
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_module,
    )

    cls: Any = sfn_module.StateTaskServiceSfn  # Any: its methods are replaced below
    original_parameters = cls._normalise_parameters

    def normalise_parameters(
        self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original_parameters(self, parameters, boto_service_name, service_action_name)
        action = service_action_name or self._get_boto_service_action()
        self._to_boto_request(parameters, _operation("stepfunctions", action).input_shape)

    def normalise_response(
        self: Any, response: Any, _boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        action = service_action_name or self._get_boto_service_action()
        self._from_boto_response(response, _operation("stepfunctions", action).output_shape)

    cls._normalise_parameters = normalise_parameters
    cls._normalise_response = normalise_response
    _patch_describe_alarms()
    _patch_send_task_failure()
    _patch_timestamp_comparisons()
    _APPLIED["sfn"] = True


def _patch_send_task_failure() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"),
        )
        return EmptyResult()

    handler: Any = StepFunctionResponse
    handler.send_task_failure = send_task_failure


def _patch_describe_alarms() -> None:
    """Make moto apply `StateValue` together with `AlarmNamePrefix` / `AlarmNames`, as AWS does."""
    from moto.cloudwatch import responses
    from moto.cloudwatch.models import CloudWatchBackend

    request = threading.local()
    original = responses.CloudWatchResponse.describe_alarms
    by_prefix = CloudWatchBackend.get_alarms_by_alarm_name_prefix
    by_names = CloudWatchBackend.get_alarms_by_alarm_names

    def in_state(alarms: Any) -> Any:
        wanted = getattr(request, "state", None)
        return [a for a in alarms if wanted is None or a.state_value == wanted]

    def describe_alarms(self: Any) -> Any:
        request.state = self._get_param("StateValue")
        try:
            return original(self)
        finally:
            request.state = None

    handler: Any = responses.CloudWatchResponse
    backend: Any = CloudWatchBackend
    handler.describe_alarms = describe_alarms
    backend.get_alarms_by_alarm_name_prefix = lambda self, p: in_state(by_prefix(self, p))
    backend.get_alarms_by_alarm_names = lambda self, n: in_state(by_names(self, n))


def _patch_timestamp_comparisons() -> None:
    """Let Choice `Timestamp*` rules read RFC 3339 timestamps with fractions and offsets, as AWS does.

    moto parses only `%Y-%m-%dT%H:%M:%SZ`, so its own `$$.State.EnteredTime`
    (`2026-12-01T22:52:38.238823+00:00`) compares false with everything; AWS's
    (`2026-12-01T22:52:38.238Z`) compares fine.
    """
    from datetime import UTC, datetime

    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )

    def string_to_timestamp(string: str) -> datetime | None:
        if not isinstance(string, str) or "T" not in string or not (string.endswith("Z") or "+" in string[10:]):
            return None
        try:
            parsed = datetime.fromisoformat(string)
        except ValueError:
            return None
        return parsed.astimezone(UTC)

    cls: Any = is_operator.IsTimestamp
    cls.string_to_timestamp = staticmethod(string_to_timestamp)
