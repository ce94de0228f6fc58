"""The local principals: one IAM user per role of the templates, holding exactly that role's policies, with an
access key (a user, not an assumed-role session, so a key id and a secret are all an operator needs, and they
do not expire); and an administrator for the runtime's own plumbing (creating the resources, playing S3's and
EventBridge's parts).

Created in whatever IAM endpoint the client points at, before enforcement is switched on: moto's server in the
local runtime, moto's in-process mock in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authentic.aws.clients import Credentials
from authentic.local.iam.policies import Assembly, Role

ADMIN = "authentic-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Principal:
    """A local user standing in for one role: its name, the role's ARN and policies, its access key."""

    user: str
    role: Role
    credentials: Credentials

    def to_json(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.credentials.access_key_id,
            "aws_secret_access_key": self.credentials.secret_access_key,
        }


@dataclass(frozen=True)
class Principals:
    admin: Credentials
    functions: Mapping[str, Principal]  # wired function name → its role's principal
    training: Principal  # the SageMaker execution role training jobs run with
    hosting: Principal  # the endpoint model's role (it reads the live models)


def create(iam: Any, assembly: Assembly) -> Principals:
    """Create the administrator and one user per function, training and hosting role."""
    admin = _user(iam, ADMIN, {"admin": ADMIN_POLICY})
    roles = assembly.roles()
    functions = {name: _principal(iam, roles[key]) for name, key in sorted(assembly.function_roles().items())}
    sagemaker = assembly.sagemaker_roles()
    return Principals(
        admin=admin,
        functions=functions,
        training=_principal(iam, roles[sagemaker["training"]]),
        hosting=_principal(iam, roles[sagemaker["hosting"]]),
    )


def _principal(iam: Any, role: Role) -> Principal:
    return Principal(user=role.name, role=role, credentials=_user(iam, role.name, role.policies))


def _user(iam: Any, name: str, policies: Mapping[str, Mapping[str, Any]]) -> Credentials:
    iam.create_user(UserName=name)
    for policy_name, document in policies.items():
        iam.put_user_policy(UserName=name, PolicyName=policy_name[:128], PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"])
