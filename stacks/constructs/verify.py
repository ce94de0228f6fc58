"""The shopper's verify route: its function may invoke this deployment's multi-model endpoint and read the table.

The route itself (public, throttled, binary photo bodies) is built by `api.Api` from `wiring.ROUTES`.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.lambdas import role_of
from stacks.constructs.nag import allow


class Verify(Construct):
    """Grants of the verify function: `sagemaker:InvokeEndpoint` on one endpoint ARN, read on the table."""

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
        allow(role_of(verify_function), actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn])
        table.grant_read_data(verify_function)  # the brand's live version and verdict policy
