"""The registry's evidence end to end on the embedded default: real HTTP to the local API Gateway, the real
handlers under their own IAM policies on moto's server, the real inference server behind the local SageMaker,
and real barcodes read by zxing-cpp. The brand's GTINs are registered with the CLI from a CSV file; shoppers'
photos carry a printed EAN-13 that is registered, unregistered, or registered to the brand's other class (a
relabelled product)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from authentic.aws import clients
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import VersionRecord
from authentic.cli import flows
from authentic.cli import main as cli
from authentic.cli.client import ApiClient
from authentic.cli.synthetic import barcode_label
from authentic.local.runtime import LocalRuntime
from tests.support.scenes import Shape, draw_scene

pytestmark = pytest.mark.slow

BRAND = "acme"
LABELS = {
    "classes": [
        {"id": 0, "name": "genuine", "role": "genuine"},
        {"id": 1, "name": "counterfeit", "role": "counterfeit"},
    ]
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, inference_model_dir: Path) -> Iterator[LocalRuntime]:
    """The local runtime with the brand's model live (the test model: red rectangles are its genuine product)."""
    state = tmp_path_factory.mktemp("state")
    # The local endpoint answers within milliseconds and this machine may be busy: give the reading its time.
    # The verify function reads the brand's settings again on every request (no 30 s cache), so a policy change
    # applies at once.
    overrides = {
        "barcode_grace_seconds": 10.0,
        "barcode_grace_share": 1e9,
        "barcode_budget_seconds": 10.0,
        "live_key_cache_seconds": 0,
    }
    with LocalRuntime(state, overrides=overrides) as local:
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for path in sorted(inference_model_dir.iterdir()):
                tar.add(path, arcname=path.name)
        live_key = f"{BRAND}/v00001.tar.gz"
        clients.client("s3").put_object(Bucket=local.settings.live_bucket, Key=live_key, Body=archive.getvalue())
        records = DynamoModelRecords(local.settings.table_name)
        records.put_version(
            VersionRecord(BRAND, 1, "authentic-acme-1", "s3://x/acme/model.tar.gz", live_key, {"threshold": 0.3},
                          LABELS, {"passed": True})
        )  # fmt: skip
        records.move_live(BRAND, 1, live_key, "promoted for the test", order=1.0, manual=True)
        yield local


@pytest.fixture(scope="module")
def client(runtime: LocalRuntime) -> Iterator[ApiClient]:
    api = ApiClient(runtime.api_url)
    yield api
    api.close()


def shopper_photo(path: Path, code: str, *, on_product: bool = True) -> Path:
    """A genuine product (the model's red rectangle) with an EAN-13 label on it, or beside it, as a JPEG."""
    scene = draw_scene(1600, 1200, [Shape(0, 300, 360, 640, 480)])
    label = barcode_label(code, module_px=2.5, seed=len(code))
    x = 620 - label.width // 2 if on_product else 1150
    scene.paste(label, (x, 600 - label.height // 2))
    scene.save(path, "JPEG", quality=90)
    return path


def test_the_cli_registers_gtins_from_a_file_naming_every_wrong_line(
    runtime: LocalRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ["--api", runtime.api_url, "--brand", BRAND]
    listing = tmp_path / "gtins.csv"
    listing.write_text("gtin,class\n5901234123457,genuine\n# the boxed edition\n5901234123458\n4006381333931,hat\n")

    assert cli.main(["gtins", *api, "--file", str(listing)]) == 1
    err = capsys.readouterr().err
    assert "gtins.csv line 4: the check digit of '5901234123458' is 8; it should be 7" in err
    assert "gtins.csv line 5: class 'hat' is not one of this brand's classes" in err

    listing.write_text("gtin,class\n5901234123457,genuine\n4006381333931,counterfeit\n")
    assert cli.main(["gtins", *api, "--file", str(listing)]) == 0
    assert "2 registered GTIN(s) (2 added" in capsys.readouterr().out
    assert cli.main(["gtins", *api, "--add", "UPC-E:04965802:genuine"]) == 0
    out = capsys.readouterr().out
    assert "3 registered GTIN(s)" in out and "00049000006582  genuine" in out
    assert cli.main(["gtins", *api, "--remove", "49000006582"]) == 0
    assert "2 registered GTIN(s)" in capsys.readouterr().out


def test_a_registered_barcode_on_the_genuine_product(client: ApiClient, tmp_path: Path) -> None:
    _register(client, [{"gtin": "5901234123457", "class": "genuine"}])
    answer = flows.verify_photo(client, BRAND, shopper_photo(tmp_path / "a.jpg", "590123412345")).answer

    assert answer["verdict"] == "genuine", answer["reason"]
    assert "its barcode 05901234123457 is registered to this brand for 'genuine'" in answer["reason"]
    (barcode,) = answer["barcodes"]
    assert (barcode["format"], barcode["gtin"], barcode["registered"], barcode["class"]) == (
        "EAN-13", "05901234123457", True, "genuine"
    )  # fmt: skip


def test_an_unregistered_barcode_on_the_product_is_a_counterfeit(client: ApiClient, tmp_path: Path) -> None:
    _register(client, [{"gtin": "5901234123457", "class": "genuine"}])
    answer = flows.verify_photo(client, BRAND, shopper_photo(tmp_path / "b.jpg", "400638133393")).answer

    assert answer["verdict"] == "counterfeit", answer["reason"]
    assert answer["reason"].startswith("barcode 04006381333931 is not registered to this brand")


def test_a_relabelled_product_is_a_counterfeit(client: ApiClient, tmp_path: Path) -> None:
    # The barcode is registered, but to the brand's other product: a genuine-looking package carrying it is
    # relabelled goods.
    _register(
        client, [{"gtin": "5901234123457", "class": "genuine"}, {"gtin": "4006381333931", "class": "counterfeit"}]
    )
    answer = flows.verify_photo(client, BRAND, shopper_photo(tmp_path / "c.jpg", "400638133393")).answer

    assert answer["verdict"] == "counterfeit", answer["reason"]
    assert "registered to this brand's 'counterfeit', not to 'genuine' (a relabelled product)" in answer["reason"]


def test_an_unregistered_barcode_beside_the_product_changes_nothing_and_is_said(
    client: ApiClient, tmp_path: Path
) -> None:
    _register(client, [{"gtin": "5901234123457", "class": "genuine"}])
    photo = shopper_photo(tmp_path / "d.jpg", "400638133393", on_product=False)
    answer = flows.verify_photo(client, BRAND, photo).answer

    assert answer["verdict"] == "genuine", answer["reason"]
    assert "not on the detected product: not taken as evidence" in answer["reason"]


def test_required_without_a_registered_barcode_is_inconclusive(
    client: ApiClient, runtime: LocalRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ["--api", runtime.api_url, "--brand", BRAND]
    assert cli.main(["policy", *api, "--barcode", "required"]) == 0
    try:
        _register(client, [])
        photo = shopper_photo(tmp_path / "e.jpg", "400638133393", on_product=False)
        answer = flows.verify_photo(client, BRAND, photo).answer
    finally:
        assert cli.main(["policy", *api, "--barcode", "advisory"]) == 0
    assert answer["verdict"] == "inconclusive"
    assert answer["reason"].startswith("no registered barcode in view")


def test_barcodes_are_reported_for_a_brand_without_a_model_and_drawn_by_the_cli(
    runtime: LocalRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = shopper_photo(tmp_path / "f.jpg", "590123412345")
    annotated = tmp_path / "verdict.jpg"
    api = ["--api", runtime.api_url, "--brand", "newbrand"]

    assert cli.main(["verify", str(photo), *api, "--annotate", str(annotated)]) == 0

    out = capsys.readouterr().out
    assert out.startswith("INCONCLUSIVE: no live model for the brand")
    assert "barcode EAN-13 5901234123457: not registered" in out
    with Image.open(annotated) as drawn, Image.open(photo) as shot:
        assert drawn.size == shot.size


def _register(client: ApiClient, entries: list[dict[str, str]]) -> None:
    client.put_gtins(BRAND, entries)
