"""An OpenFeature provider over flagd's own in-process evaluator (`openfeature-flagd-core`).

The flag file is evaluated by flagd's `FlagdCore` (JSONLogic, `fractional`, `$evaluators`,
`$flagd.timestamp`); this class only hands the OpenFeature SDK's calls to it. It needs no
protobuf, so it shares the environment with the pinned Pulumi SDK (unlike
`openfeature-provider-flagd`, whose gRPC sync needs protobuf 7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, Metadata


class FlagFileProvider(AbstractProvider):
    """Evaluates one flagd flag file (its text) with flagd's in-process evaluator."""

    def __init__(self, flag_file: str) -> None:
        super().__init__()
        self._core = FlagdCore()
        self._core.set_flags(flag_file)

    def get_metadata(self) -> Metadata:
        return Metadata(name="cellfleet flag file (flagd in-process evaluator)")

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._core.resolve_boolean_value(flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._core.resolve_string_value(flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._core.resolve_integer_value(flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._core.resolve_float_value(flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._core.resolve_object_value(flag_key, default_value, evaluation_context)


def evaluation_context(customer_id: str, cell_id: str | None = None, tier: str | None = None,
                       region: str | None = None) -> EvaluationContext:
    """The context a cell's workload evaluates with: the customer as targeting key, the cell's identity."""
    attributes: dict[str, str] = {"customer_id": customer_id}
    attributes.update({k: v for k, v in (("cell_id", cell_id), ("tier", tier), ("region", region)) if v is not None})
    return EvaluationContext(targeting_key=customer_id, attributes=attributes)
