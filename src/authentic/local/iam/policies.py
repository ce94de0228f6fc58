"""The synthesized templates' IAM roles, with every CloudFormation token resolved to the local resource names.

Local names are read off the functions' environment: each Lambda function's `Environment.Variables` maps a
setting (UPLOADS_BUCKET, TABLE_NAME, TRAINING_ROLE_ARN, ENDPOINT_NAME, ...) to a token, and the local runtime has
the same setting with its local value, so token → local name needs no table of logical ids. What no setting names
(the upload queue, a function's role and log group) comes from `extra_names` or the runtime's naming rules.

Tokens handled (any other raises `Unresolvable`, so a new kind is noticed, never passed through):
    Ref <pseudo>          AWS::Partition, AWS::Region, AWS::AccountId, AWS::URLSuffix, AWS::StackName;
                          AWS::NoValue drops the item
    Ref <resource>        bucket, table, role, log group → name; queue → URL; SageMaker endpoint → its ARN
    Fn::GetAtt [X, Attr]  Arn of buckets, tables, queues, roles, log groups, rules, functions, topics;
                          a queue's QueueName, an endpoint's EndpointName
    Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::ImportValue (resolved in the exporting stack)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's default account: the local principals live there
REGION = "us-east-1"
_HASH = re.compile(r"^(?P<stem>.+?)(?P<hash>[0-9A-F]{8})$")
_FUNCTION_PART = re.compile(r"Functions(\w+?)(Role|Logs)")


class Unresolvable(ValueError):
    """A template expression the resolver does not model."""


def stem(logical_id: str) -> str:
    """The logical id without CDK's 8-hex-digit suffix."""
    match = _HASH.match(logical_id)
    return match.group("stem") if match else logical_id


@dataclass(frozen=True)
class Role:
    """One IAM role of the templates, resolved: its local name and ARN, and its identity policies."""

    key: str  # "{stack}/{logical id}"
    name: str
    arn: str
    trust: dict[str, Any]
    policies: dict[str, dict[str, Any]]  # policy name → document
    managed: tuple[str, ...] = ()

    @property
    def documents(self) -> list[dict[str, Any]]:
        return list(self.policies.values())


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


@dataclass
class Assembly:
    """The templates of one cloud assembly, and how their tokens resolve locally."""

    templates: Mapping[str, dict[str, Any]]
    local_env: Mapping[str, str]
    endpoint_url: str  # for queue URLs (the Ref of a queue)
    extra_names: Mapping[str, str] = field(default_factory=dict)
    account: str = ACCOUNT
    region: str = REGION
    partition: str = "aws"

    def __post_init__(self) -> None:
        self._exports: dict[str, tuple[str, Any]] = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if name:
                    self._exports[str(self.resolve(stack, name))] = (stack, output["Value"])
        self._names: dict[tuple[str, str], str] = {}
        for stack, template in self.templates.items():
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::Lambda::Function":
                    continue
                variables = resource["Properties"].get("Environment", {}).get("Variables", {})
                for variable, token in variables.items():
                    if variable in self.local_env and isinstance(token, dict):
                        self._learn(stack, token, self.local_env[variable])

    def _learn(self, stack: str, token: dict[str, Any], value: str) -> None:
        if "Fn::ImportValue" in token:
            other, expression = self._exports[str(self.resolve(stack, token["Fn::ImportValue"]))]
            self._learn(other, expression, value)
        elif "Ref" in token:
            self._names[(stack, token["Ref"])] = value
        elif "Fn::GetAtt" in token:
            logical_id, attribute = token["Fn::GetAtt"]
            self._names[(stack, logical_id)] = value.rsplit("/", 1)[-1] if attribute == "Arn" else value

    # -- names ----------------------------------------------------------------------------------------------
    def name_of(self, stack: str, logical_id: str) -> str:
        known = self._names.get((stack, logical_id))
        if known:
            return known
        kind = self.templates[stack]["Resources"][logical_id]["Type"]
        function = _FUNCTION_PART.fullmatch(stem(logical_id))
        if function and kind == "AWS::IAM::Role":
            return function_role_name(function.group(1).lower())
        if function and kind == "AWS::Logs::LogGroup":
            return f"/aws/lambda/{function.group(1).lower()}"
        return self.extra_names.get(stem(logical_id), stem(logical_id))

    # -- resolution -----------------------------------------------------------------------------------------
    def _pseudo(self, name: str, stack: str) -> str | None:
        return {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }.get(name)

    def ref(self, stack: str, logical_id: str) -> str:
        pseudo = self._pseudo(logical_id, stack)
        if pseudo is not None:
            return pseudo
        resource = self.templates[stack]["Resources"].get(logical_id)
        if resource is None:
            raise Unresolvable(f"Ref {logical_id} in {stack}: no such resource")
        kind, name = resource["Type"], self.name_of(stack, logical_id)
        if kind == "AWS::SQS::Queue":
            return f"{self.endpoint_url}/{self.account}/{name}"
        if kind == "AWS::SageMaker::Endpoint":  # the Ref of an endpoint is its ARN (names are lowercased there)
            return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:endpoint/{name.lower()}"
        if kind == "AWS::SNS::Topic":  # the Ref of a topic is its ARN
            return f"arn:{self.partition}:sns:{self.region}:{self.account}:{name}"
        return name

    def get_att(self, stack: str, logical_id: str, attribute: str) -> str:
        resource = self.templates[stack]["Resources"].get(logical_id)
        if resource is None:
            raise Unresolvable(f"GetAtt {logical_id}.{attribute} in {stack}: no such resource")
        kind, name = resource["Type"], self.name_of(stack, logical_id)
        p, r, a = self.partition, self.region, self.account
        arns = {
            "AWS::S3::Bucket": f"arn:{p}:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
            "AWS::SQS::Queue": f"arn:{p}:sqs:{r}:{a}:{name}",
            "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{name}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
            "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{name}",
            "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
            "AWS::SNS::Topic": f"arn:{p}:sns:{r}:{a}:{name}",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if (kind, attribute) in (("AWS::SQS::Queue", "QueueName"), ("AWS::SageMaker::Endpoint", "EndpointName")):
            return name
        if (kind, attribute) == ("AWS::SNS::Topic", "TopicName"):
            return name
        raise Unresolvable(f"GetAtt {logical_id}.{attribute} ({kind}) is not modelled")

    def resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(stack, item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self.ref(stack, argument)
            if key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(stack, key, argument, value)
        resolved = ((k, self.resolve(stack, v)) for k, v in value.items())
        return {k: v for k, v in resolved if v is not _NO_VALUE}

    def _intrinsic(self, stack: str, key: str, argument: Any, value: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(stack, logical_id, attribute)
        if key == "Fn::Join":
            delimiter, parts = argument
            return delimiter.join(str(self.resolve(stack, part)) for part in parts)
        if key == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            return self._sub(stack, template, {k: self.resolve(stack, v) for k, v in variables.items()})
        if key == "Fn::ImportValue":
            other, expression = self._exports[str(self.resolve(stack, argument))]
            return self.resolve(other, expression)
        if key == "Fn::Select":
            index, items = argument
            return self.resolve(stack, items)[int(index)]
        if key == "Fn::Split":
            delimiter, source = argument
            return str(self.resolve(stack, source)).split(delimiter)
        raise Unresolvable(f"{key} is not handled: {json.dumps(value)[:200]}")

    def _sub(self, stack: str, template: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(stack, logical_id, attribute)
            return self.ref(stack, name)

        return re.sub(r"\$\{([^}]+)\}", replace, template)

    # -- roles ----------------------------------------------------------------------------------------------
    def roles(self) -> dict[str, Role]:
        """Every role of the templates by "{stack}/{logical id}", with the policies attached to it."""
        found: dict[str, dict[str, Any]] = {}
        for stack, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::IAM::Role":
                    continue
                props = resource["Properties"]
                found[f"{stack}/{logical_id}"] = {
                    "name": self.name_of(stack, logical_id),
                    "arn": self.get_att(stack, logical_id, "Arn"),
                    "trust": self.resolve(stack, props.get("AssumeRolePolicyDocument", {})),
                    "managed": tuple(self.resolve(stack, props.get("ManagedPolicyArns", []))),
                    "policies": {
                        p["PolicyName"]: self.resolve(stack, p["PolicyDocument"]) for p in props.get("Policies", [])
                    },
                }
        for stack, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    continue
                props = resource["Properties"]
                for reference in props.get("Roles", []):
                    if not (isinstance(reference, dict) and "Ref" in reference):
                        raise Unresolvable(f"{logical_id}: the role reference {reference} is not a Ref")
                    name = props.get("PolicyName") or props.get("ManagedPolicyName") or logical_id
                    found[f"{stack}/{reference['Ref']}"]["policies"][name] = self.resolve(
                        stack, props["PolicyDocument"]
                    )
        return {key: Role(key=key, **values) for key, values in found.items()}

    def function_roles(self) -> dict[str, str]:
        """Each wired function's name (its handler is `lambdas.{name}.handler`) → the key of its role."""
        out: dict[str, str] = {}
        for stack, template in self.templates.items():
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::Lambda::Function":
                    continue
                handler = str(resource["Properties"].get("Handler", ""))
                if handler.startswith("lambdas."):
                    out[handler.split(".")[1]] = f"{stack}/{resource['Properties']['Role']['Fn::GetAtt'][0]}"
        return out

    def sagemaker_roles(self) -> dict[str, str]:
        """ "training" → the key of the role training jobs run with; "hosting" → the endpoint model's role."""
        out: dict[str, str] = {}
        for stack, template in self.templates.items():
            for resource in template["Resources"].values():
                props = resource.get("Properties", {})
                if resource["Type"] == "AWS::Lambda::Function":
                    token = props.get("Environment", {}).get("Variables", {}).get("TRAINING_ROLE_ARN")
                    if isinstance(token, dict) and "Fn::GetAtt" in token:
                        out["training"] = f"{stack}/{token['Fn::GetAtt'][0]}"
                if resource["Type"] == "AWS::SageMaker::Model":
                    token = props.get("ExecutionRoleArn")
                    if isinstance(token, dict) and "Fn::GetAtt" in token:
                        out["hosting"] = f"{stack}/{token['Fn::GetAtt'][0]}"
        return out


def function_role_name(function: str) -> str:
    return f"authentic-{function}-function"
