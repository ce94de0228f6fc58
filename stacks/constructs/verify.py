"""The verify routes: their function may invoke this deployment's multi-model endpoint and get the brands' items.

It reads three items per brand, each by its key (`GetItem`: the live pointer, the live version, the policy) and
nothing else: no Query, Scan or BatchGetItem, and only in the brands' partitions (`dynamodb:LeadingKeys`
`BRAND#*`). The routes themselves (public and throttled, or the brand's; binary photo bodies) are built by
`api.Api` from `wiring.ROUTES`.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from authentic.keys import BRAND_PARTITION_PREFIX
from stacks.constructs.lambdas import role_of
from stacks.constructs.nag import allow


class Verify(Construct):
    """Grants of the verify function: `sagemaker:InvokeEndpoint` on one endpoint ARN, `dynamodb:GetItem` on the
    brands' items of the table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        verify_function: lambda_.Function,
        endpoint_arn: str,
        table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        role = role_of(verify_function)
        allow(role, actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn])
        allow(
            role,
            actions=["dynamodb:GetItem"],
            resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{BRAND_PARTITION_PREFIX}*"]}},
        )
