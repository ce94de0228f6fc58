"""The multi-model hosting construct on its own: MultiModel mode on the live bucket, the endpoint and its
autoscaling, a role that reads only the live-models bucket, the image asset, and cdk-nag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.constructs.hosting import HostingConfig, MultiModelHosting


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    outdir = tmp_path_factory.mktemp("hosting.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "HostingTest", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    live = s3.Bucket(stack, "LiveModels")
    other = s3.Bucket(stack, "Other")
    config = HostingConfig(instance_type="ml.c7i.xlarge", initial_instance_count=2, min_instances=1, max_instances=4)
    MultiModelHosting(stack, "Hosting", live_models_bucket=live, config=config)
    cdk.CfnOutput(stack, "OtherBucket", value=other.bucket_name)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
        error = ""
    except RuntimeError as exc:  # findings outside the construct (the test buckets) fail the synth
        error = str(exc)
    template = json.loads((outdir / "HostingTest.template.json").read_text())
    return template, outdir, error


@pytest.fixture(scope="module")
def template(synthesized: tuple[dict[str, Any], Path, str]) -> Template:
    return Template.from_json(synthesized[0])


def _ref_of(template: dict[str, Any], resource_type: str, fragment: str) -> str:
    found = [k for k, v in template["Resources"].items() if v["Type"] == resource_type and fragment in k]
    assert len(found) == 1, found
    return str(found[0])


def test_the_model_is_multi_model_over_the_live_bucket(template: Template, synthesized: Any) -> None:
    live = _ref_of(synthesized[0], "AWS::S3::Bucket", "LiveModels")
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Mode": "MultiModel",
                "ModelDataUrl": {"Fn::Join": ["", ["s3://", {"Ref": live}, "/"]]},
                "Image": Match.any_value(),
            },
            "EnableNetworkIsolation": True,
        },
    )


def test_the_endpoint_config_takes_instance_type_and_count_from_config(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {"VariantName": "AllTraffic", "InstanceType": "ml.c7i.xlarge", "InitialInstanceCount": 2}
                )
            ]
        },
    )
    template.resource_count_is("AWS::SageMaker::Endpoint", 1)


def test_autoscaling_tracks_invocations_per_instance(template: Template, synthesized: Any) -> None:
    endpoint = _ref_of(synthesized[0], "AWS::SageMaker::Endpoint", "Endpoint")
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1,
            "MaxCapacity": 4,
            "ResourceId": {
                "Fn::Join": ["", ["endpoint/", {"Fn::GetAtt": [endpoint, "EndpointName"]}, "/variant/AllTraffic"]]
            },
        },
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                    "TargetValue": 600,
                }
            ),
        },
    )


def test_the_role_reads_only_the_live_models_bucket(synthesized: Any) -> None:
    tpl = synthesized[0]
    live = _ref_of(tpl, "AWS::S3::Bucket", "LiveModels")
    role = _ref_of(tpl, "AWS::IAM::Role", "ExecutionRole")
    trust = tpl["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}]
    assert "ManagedPolicyArns" not in tpl["Resources"][role]["Properties"]
    statements = [
        statement
        for policy in tpl["Resources"].values()
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in _as_list(s["Action"]))]
    actions = sorted(a for s in s3_statements for a in _as_list(s["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket"]
    resources = json.dumps([s["Resource"] for s in s3_statements])
    assert live in resources
    assert "Other" not in resources
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert not any("*" in a for a in _as_list(statement["Action"])), statement
        if statement["Resource"] == "*":
            assert _as_list(statement["Action"]) in (["ecr:GetAuthorizationToken"], ["cloudwatch:PutMetricData"])
    metrics = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}


def test_the_model_waits_for_its_role_policy(synthesized: Any) -> None:
    tpl = synthesized[0]
    model = tpl["Resources"][_ref_of(tpl, "AWS::SageMaker::Model", "Model")]
    policy = _ref_of(tpl, "AWS::IAM::Policy", "ExecutionRole")
    assert policy in model.get("DependsOn", [])


def test_the_image_is_built_from_the_inference_dockerfile_with_a_small_context(synthesized: Any) -> None:
    _, outdir, _ = synthesized
    manifest = json.loads((outdir / "HostingTest.assets.json").read_text())
    images = list(manifest["dockerImages"].values())
    assert len(images) == 1
    source = images[0]["source"]
    assert source["dockerFile"] == "containers/inference/Dockerfile"
    assert source.get("platform") == "linux/amd64"
    context = outdir / source["directory"]
    staged = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    assert "containers/inference/Dockerfile" in staged
    assert "containers/inference/serve.py" in staged
    assert "src/authentic/inference/server.py" in staged
    assert "src/authentic/inference/detector.py" in staged
    assert not [p for p in staged if p.startswith((".venv", "tests/", "containers/training", ".git/"))]
    unused = ("src/authentic/cli", "src/authentic/local", "src/authentic/aws", "src/authentic/training")
    assert not [p for p in staged if p.startswith(unused)]
    assert not [p for p in staged if "__pycache__" in p]


def test_cdk_nag_finds_nothing_in_the_construct(synthesized: Any) -> None:
    _, outdir, _ = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    findings = [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
        if "/Hosting/" in construct["constructPath"]
    ]
    assert findings == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"instance_type": "c7i.xlarge"},
        {"min_instances": 3, "initial_instance_count": 2, "max_instances": 4},
        {"initial_instance_count": 5, "max_instances": 4},
        {"target_invocations_per_instance": 0},
    ],
)
def test_config_refuses_impossible_capacity(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HostingConfig(**kwargs)
