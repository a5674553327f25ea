"""The migration orchestrators in the control-plane stack: one state machine per migration.

Each machine is `migrations.orchestrator.definition` for the migration's plan; its role may do
exactly what the definitions' Task states call (derived like the pipeline's, no `*` action) and
read the step objects `fleet migrate start` writes to the plan bucket (their Distributed Maps'
ItemReaders; decrypting them only through S3, only for that bucket), and the state lands in the
migrations table that `fleet migrate status --store dynamodb` reads.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from migrations.orchestrator import definition, machine_name
from migrations.planner import MigrationPlan
from model.contract import DEFAULT_MIGRATIONS_TABLE, MIGRATION_KEY, MIGRATION_RANGE_KEY
from model.iam import POLICY_VERSION, assume_role_policy
from pipelines.iam import definitions_policy, observability_policy
from pipelines.targets import Targets

NAME = "control-plane"


def build_orchestrators(
    plans: list[MigrationPlan],
    targets: pulumi.Output[Targets],
    names: Targets,
    log_group_arn: pulumi.Output[str],
) -> dict[str, aws.sfn.StateMachine]:
    """The migrations table, the orchestrators' role and one state machine per migration of the fleet."""
    table = aws.dynamodb.Table(
        f"{NAME}-migrations",
        name=DEFAULT_MIGRATIONS_TABLE,
        billing_mode="PAY_PER_REQUEST",
        hash_key=MIGRATION_KEY,
        range_key=MIGRATION_RANGE_KEY,
        attributes=[aws.dynamodb.TableAttributeArgs(name=MIGRATION_KEY, type="S"),
                    aws.dynamodb.TableAttributeArgs(name=MIGRATION_RANGE_KEY, type="S")],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        deletion_protection_enabled=True,
    )
    # keyed by the machine's name without the prefix, as `definitions_policy` names a machine's own ARN
    documents = targets.apply(lambda t: {_kind(t, p.id): definition(p, t, DEFAULT_MIGRATIONS_TABLE) for p in plans})
    role = aws.iam.Role(f"{NAME}-migrations-role", assume_role_policy=assume_role_policy("states.amazonaws.com"))
    policy = aws.iam.RolePolicy(
        f"{NAME}-migrations-policy", role=role.id,
        policy=pulumi.Output.all(documents, targets).apply(
            lambda args: json.dumps(definitions_policy(args[0], args[1]), sort_keys=True)),
        opts=pulumi.ResourceOptions(depends_on=[table]),
    )
    observability = aws.iam.RolePolicy(f"{NAME}-migrations-observability", role=role.id,
                                       policy=json.dumps(observability_policy(), sort_keys=True))

    plans_key = aws.iam.RolePolicy(f"{NAME}-migrations-plans-key", role=role.id,
                                   policy=targets.apply(lambda t: json.dumps(plans_key_policy(t), sort_keys=True)))

    def text(migration_id: str) -> pulumi.Output[str]:
        return documents.apply(lambda docs: json.dumps(docs[_kind(names, migration_id)], sort_keys=True))

    machines = {}
    for plan in plans:
        machines[plan.id] = aws.sfn.StateMachine(
            f"{NAME}-migration-{plan.id}",
            name=machine_name(names, plan.id),
            type="STANDARD",
            role_arn=role.arn,
            definition=text(plan.id),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                log_destination=log_group_arn.apply(lambda arn: f"{arn}:*"), include_execution_data=False, level="ERROR",
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            opts=pulumi.ResourceOptions(depends_on=[policy, observability, plans_key]),
        )
    pulumi.export("migrationsTable", table.name)
    exported: dict[str, Any] = {pid: m.arn for pid, m in machines.items()}
    pulumi.export("migrationStateMachineArns", exported)
    return machines


def _kind(targets: Targets, migration_id: str) -> str:
    return machine_name(targets, migration_id).removeprefix(f"{targets.prefix}-")


def plans_key_policy(targets: Targets) -> dict[str, Any]:
    """Decrypt the step objects: only through S3, only for the plan bucket (its key's policy delegates to IAM)."""
    return {"Version": POLICY_VERSION, "Statement": [{
        "Sid": "ReadStepObjectsThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt"],
        "Resource": f"arn:{targets.partition}:kms:{targets.region}:{targets.account}:key/*",
        "Condition": {"StringEquals": {
            "kms:ViaService": f"s3.{targets.region}.amazonaws.com",
            "kms:EncryptionContext:aws:s3:arn": f"arn:{targets.partition}:s3:::{targets.plan_bucket}",
        }},
    }]}
