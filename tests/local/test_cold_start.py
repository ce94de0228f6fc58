"""A cold start is cold: every function the local runtime starts gets a new handler, which reads its settings
when first invoked, while a warm handler keeps what it read (as a Lambda execution environment does). So the
local runtime never serves with another configuration's cached settings or clients, as a test or an earlier
runtime in the same process would leave them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authentic import wiring
from authentic.aws import clients
from authentic.local.events import api_gateway_event
from authentic.local.functions import Functions
from authentic.local.provision import Provisioned
from authentic.settings import Settings


def upload_form(functions: Functions) -> dict[str, Any]:
    event = api_gateway_event(
        "POST",
        "/brands/{brandId}/uploads",
        "/brands/acme/uploads",
        path_parameters={"brandId": "acme"},
        body=json.dumps({"count": 1}).encode(),
    )
    response = functions.invoke("uploads", event)
    assert response["statusCode"] == 200, response["body"]
    form: dict[str, Any] = json.loads(response["body"])["pairs"][0]["image"]
    return form


def test_a_cold_start_gives_every_function_a_new_handler() -> None:
    functions = Functions()
    functions.cold_start()
    before = {f.name: functions.handler(f.name) for f in wiring.FUNCTIONS}
    functions.cold_start()
    assert all(functions.handler(f.name) is not before[f.name] for f in wiring.FUNCTIONS)


def test_a_warm_handler_keeps_its_settings_and_a_cold_one_reads_them_again(
    moto_aws: Provisioned, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    functions = Functions()
    functions.cold_start()
    assert app_settings.uploads_bucket in upload_form(functions)["url"]

    clients.client("s3").create_bucket(Bucket="other-uploads")
    monkeypatch.setenv("UPLOADS_BUCKET", "other-uploads")  # a redeploy with another bucket
    assert app_settings.uploads_bucket in upload_form(functions)["url"]  # warm: still the old configuration

    functions.cold_start()
    assert "other-uploads" in upload_form(functions)["url"]
