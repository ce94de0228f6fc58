"""The deployment configuration: cdk.json context → one typed, validated AppConfig (no CDK needed)."""

from __future__ import annotations

import json

import pytest

from stacks.config import MB, PREFIX, AppConfig, ConfigError, context_defaults, load_config
from tests.infra.infra_support import REPO


def test_cdk_json_ships_exactly_the_documented_defaults() -> None:
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    ours = {k: v for k, v in context.items() if k.startswith(PREFIX)}
    assert ours == context_defaults()
    assert load_config(context) == AppConfig()


def test_defaults_are_the_issue_values() -> None:
    config = AppConfig()
    assert config.max_image_bytes == 25 * MB
    assert config.max_annotation_bytes == 1 * MB
    assert config.quality_gate_map50 == 0.5
    assert config.job_prefix == "authentic"
    assert config.training.instance_type == "ml.g6.xlarge"
    assert config.training.use_spot is False


def test_command_line_strings_are_converted() -> None:
    # Given values as `cdk deploy -c key=value` delivers them: strings
    config = load_config(
        {
            f"{PREFIX}trainingUseSpot": "true",
            f"{PREFIX}trainingMaxRuntimeSeconds": "3600",
            f"{PREFIX}trainingMaxWaitSeconds": "7200",
            f"{PREFIX}qualityGateMap50": "0.65",
            f"{PREFIX}maxImageMb": "10",
            f"{PREFIX}jobPrefix": "staging",
        }
    )
    # Then they arrive typed
    assert config.training.use_spot is True
    assert config.training.max_runtime_seconds == 3600
    assert config.quality_gate_map50 == pytest.approx(0.65)
    assert config.max_image_bytes == 10 * MB
    assert config.job_prefix == "staging"


def test_every_problem_is_reported_at_once_and_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            {
                f"{PREFIX}jobPrefix": "Bad-Prefix",
                f"{PREFIX}qualityGateMap50": 1.5,
                f"{PREFIX}trainingUseSpot": "maybe",
                f"{PREFIX}logRetentionDays": 31,
                f"{PREFIX}trainingInstanceTyp": "ml.g6.xlarge",  # a typo is not silently ignored
            }
        )
    message = str(caught.value)
    for key in ("jobPrefix", "qualityGateMap50", "trainingUseSpot", "logRetentionDays", "trainingInstanceTyp"):
        assert f"{PREFIX}{key}" in message


@pytest.mark.parametrize(
    ("context", "fragment"),
    [
        ({"trainingUseSpot": True, "trainingMaxRuntimeSeconds": 7200, "trainingMaxWaitSeconds": 3600}, "MaxWait"),
        ({"hostingMinInstances": 3, "hostingMaxInstances": 2, "hostingInstanceCount": 3}, "hostingMinInstances"),
        ({"hostingInstanceCount": 5}, "hostingInstanceCount"),
        ({"verifyRateLimit": 50, "verifyBurstLimit": 10}, "verifyBurstLimit"),
        ({"maxImageMb": True}, "maxImageMb"),
        ({"trainingInstanceType": "g6.xlarge"}, "trainingInstanceType"),
        ({"trainingVolumeGb": 0}, "trainingVolumeGb"),
        ({"trainingMaxRuntimeSeconds": 10}, "trainingMaxRuntimeSeconds"),
        ({"trainingPretrainedWeightsUrl": "http://example.com/w.pt"}, "https://"),
        ({"brandServerRoleArn": "arn:aws:iam::123456789012:user/brand-server"}, "brandServerRoleArn"),
        ({"brandServerRoleArn": "brand-server"}, "IAM role ARN"),
        ({"wafRateLimit": 9}, "wafRateLimit"),
        ({"wafRateLimit": 2_000_000_001}, "2,000,000,000"),
        ({"alarmEmail": "ops@"}, "alarmEmail"),
        ({"alarmEmail": "a@example.com, b@example.com"}, "one email address"),
    ],
)
def test_inconsistent_settings_are_refused(context: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config({PREFIX + k: v for k, v in context.items()})


def test_spot_wait_shorter_than_runtime_is_fine_without_spot() -> None:
    config = load_config({f"{PREFIX}trainingMaxRuntimeSeconds": 7200, f"{PREFIX}trainingMaxWaitSeconds": 3600})
    assert config.training.use_spot is False


def test_other_context_keys_are_left_alone() -> None:
    assert load_config({"@aws-cdk/core:checkSecretUsage": True, "aws:cdk:bundling-stacks": []}) == AppConfig()


def test_the_edge_and_alarm_settings_default_off_and_are_read() -> None:
    # Given the shipped defaults: the account's principals call the brand routes, no alarm email
    default = AppConfig()
    assert (default.brand_server_role_arn, default.alarm_email, default.waf_rate_limit) == ("", "", 300)
    # When a deployment names its brand server, the WAF limit and an address (as `-c` strings)
    config = load_config(
        {
            f"{PREFIX}brandServerRoleArn": "arn:aws:iam::123456789012:role/web/brand-server",
            f"{PREFIX}wafRateLimit": "1000",
            f"{PREFIX}alarmEmail": "ops@example.com",
        }
    )
    # Then they arrive as given
    assert config.brand_server_role_arn == "arn:aws:iam::123456789012:role/web/brand-server"
    assert config.waf_rate_limit == 1000
    assert config.alarm_email == "ops@example.com"
    assert load_config({f"{PREFIX}brandServerRoleArn": "", f"{PREFIX}alarmEmail": ""}) == AppConfig()
