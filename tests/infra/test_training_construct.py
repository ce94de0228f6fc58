"""The training construct in a bare stack: the image asset, and a role scoped to exactly what a job needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from stacks.constructs.training import (
    CHECKPOINTS_PATTERN,
    DOCKERFILE,
    METRICS_NAMESPACE,
    WEIGHTS_BUILD_ARG,
    TrainingImage,
)

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def build(weights_url: str = "", outdir: Path | None = None) -> tuple[cdk.App, cdk.Stack, TrainingImage]:
    app = cdk.App(outdir=str(outdir) if outdir else None)
    stack = cdk.Stack(app, "TrainingTest", env=ENV)
    dataset = s3.Bucket(stack, "Dataset")
    artifacts = s3.Bucket(stack, "Artifacts")
    training = TrainingImage(
        stack, "Training", dataset_bucket=dataset, artifacts_bucket=artifacts, pretrained_weights_url=weights_url
    )
    return app, stack, training


@pytest.fixture(scope="module")
def built() -> tuple[cdk.App, cdk.Stack, TrainingImage]:
    return build()


@pytest.fixture(scope="module")
def template(built: tuple[cdk.App, cdk.Stack, TrainingImage]) -> Template:
    return Template.from_stack(built[1])


def bucket_id(template: Template, name: str) -> str:
    ids = [k for k in template.find_resources("AWS::S3::Bucket") if k.startswith(name)]
    assert len(ids) == 1
    return ids[0]


def statements(template: Template) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"]["Roles"])
        if "TrainingRole" in roles:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert out
    return out


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


def resources(statement: dict[str, Any]) -> list[Any]:
    value = statement["Resource"]
    return value if isinstance(value, list) else [value]


def granting(template: Template, action: str) -> list[dict[str, Any]]:
    return [s for s in statements(template) if s["Effect"] == "Allow" and action in actions(s)]


def refers_to(resource: Any, logical_id: str) -> bool:
    return logical_id in json.dumps(resource)


def test_role_is_assumed_by_sagemaker_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like({"Action": "sts:AssumeRole", "Principal": {"Service": "sagemaker.amazonaws.com"}})
                ]
            },
            "ManagedPolicyArns": Match.absent(),
        },
    )


def test_no_wildcard_actions_and_nothing_destructive(template: Template) -> None:
    for statement in statements(template):
        assert statement["Effect"] == "Allow"
        for action in actions(statement):
            assert "*" not in action, action
            assert not action.startswith(("s3:Delete", "s3:PutBucket", "iam:", "sagemaker:")), action


def test_dataset_bucket_is_read_only_where_a_manifest_file_channel_reads(template: Template) -> None:
    """A ManifestFile channel reads the ManifestFile, the manifest and the objects it names; it lists nothing."""
    dataset = bucket_id(template, "Dataset")
    on_dataset = [s for s in statements(template) if any(refers_to(r, dataset) for r in resources(s))]
    assert {a for s in on_dataset for a in actions(s)} == {"s3:GetObject"}
    (get,) = on_dataset
    assert {r["Fn::Join"][1][-1] for r in resources(get)} == {"/*/manifests/*", "/*/objects/*"}


def test_artifacts_bucket_is_written_and_only_checkpoints_read_back(template: Template) -> None:
    artifacts = bucket_id(template, "Artifacts")
    dataset = bucket_id(template, "Dataset")
    (put,) = granting(template, "s3:PutObject")
    assert all(refers_to(r, artifacts) and not refers_to(r, dataset) for r in resources(put))
    reads = [s for s in granting(template, "s3:GetObject") if any(refers_to(r, artifacts) for r in resources(s))]
    (read,) = reads
    (resource,) = resources(read)
    assert resource["Fn::Join"][1][-1] == "/" + CHECKPOINTS_PATTERN
    (listing,) = [s for s in granting(template, "s3:ListBucket") if refers_to(s["Resource"], artifacts)]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [CHECKPOINTS_PATTERN]}}


def test_image_pull_is_scoped_to_the_asset_repository(template: Template) -> None:
    (pull,) = granting(template, "ecr:BatchGetImage")
    assert set(actions(pull)) == {"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}
    assert "container-assets" in json.dumps(pull["Resource"])
    (token,) = granting(template, "ecr:GetAuthorizationToken")
    assert actions(token) == ["ecr:GetAuthorizationToken"]


def test_logs_only_in_the_training_log_group(template: Template) -> None:
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"):
        (statement,) = granting(template, action)
        text = json.dumps(statement["Resource"])
        assert ":log-group:/aws/sagemaker/TrainingJobs" in text, action


def test_metrics_only_in_the_training_namespace(template: Template) -> None:
    (statement,) = granting(template, "cloudwatch:PutMetricData")
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}


def test_only_the_unscopable_actions_use_a_bare_wildcard_resource(template: Template) -> None:
    bare = {a for s in statements(template) if "*" in resources(s) for a in actions(s)}
    assert bare == {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}


def test_exposes_image_uri_and_role(built: tuple[cdk.App, cdk.Stack, TrainingImage]) -> None:
    _app, stack, training = built
    assert "container-assets" in json.dumps(stack.resolve(training.image_uri))
    assert training.role.role_arn


def docker_asset(outdir: Path) -> dict[str, Any]:
    assets = json.loads((outdir / "TrainingTest.assets.json").read_text())
    (asset,) = assets["dockerImages"].values()
    source: dict[str, Any] = asset["source"]
    return source


def test_the_image_is_built_from_the_repository_root_with_the_training_dockerfile(tmp_path: Path) -> None:
    app, _stack, _training = build(outdir=tmp_path)
    app.synth()  # no Docker engine needed: assets are staged, not built
    source = docker_asset(tmp_path)
    assert source["dockerFile"] == DOCKERFILE
    assert source["platform"] == "linux/amd64"
    assert "dockerBuildArgs" not in source
    staged = tmp_path / source["directory"]
    assert (staged / DOCKERFILE).is_file()
    assert (staged / "src" / "authentic" / "training" / "container" / "program.py").is_file()
    assert (staged / "requirements.lock").is_file()
    assert not (staged / "tests").exists() and not (staged / ".venv").exists() and not (staged / "bench").exists()


def test_pretrained_weights_become_a_build_argument(tmp_path: Path) -> None:
    url = "https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n.pt"
    app, _stack, _training = build(url, outdir=tmp_path)
    app.synth()
    assert docker_asset(tmp_path)["dockerBuildArgs"] == {WEIGHTS_BUILD_ARG: url}


def test_cdk_nag_finds_nothing_unacknowledged_in_the_construct() -> None:
    from cdk_nag import AwsSolutionsChecks

    app, _stack, _training = build()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # type: ignore[attr-defined]
    try:
        app.synth()
        error = ""
    except RuntimeError as exc:
        error = str(exc)
    assert "AwsSolutions" in error  # the bare test buckets are not compliant: the checks really ran
    findings = [line for line in error.splitlines() if "/Training/" in line]
    assert findings == [], "\n".join(findings)


def test_weights_must_come_over_https() -> None:
    # The where-and-how-long settings of a job are the orchestration's (stacks/config.py checks them; see
    # tests/infra/test_config.py); the construct checks the one setting it uses.
    with pytest.raises(ValueError, match="https://"):
        build("http://example.com/w.pt")


def test_jobs_write_only_their_deployments_output_and_checkpoints() -> None:
    # Given a deployment named "staging"
    app = cdk.App()
    stack = cdk.Stack(app, "StagingTraining", env=ENV)
    TrainingImage(
        stack,
        "Training",
        dataset_bucket=s3.Bucket(stack, "Dataset"),
        artifacts_bucket=s3.Bucket(stack, "Artifacts"),
        job_prefix="staging",
    )
    template = Template.from_stack(stack)
    # Then its role may put objects only under staging-* jobs' output and checkpoints
    (put,) = granting(template, "s3:PutObject")
    suffixes = sorted(r["Fn::Join"][1][-1] for r in resources(put))
    assert suffixes == ["/*/checkpoints/staging-*/*", "/*/staging-*/output/*"]
    assert set(actions(put)) == {"s3:PutObject", "s3:AbortMultipartUpload"}
