"""The ingest handler against moto: S3 notification → SQS event → Lambda → dataset bucket and table."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from authentic.aws import clients
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import PairRecord
from authentic.ingest.report import IngestReport
from authentic.local import events
from authentic.local.provision import Provisioned
from authentic.settings import Settings
from lambdas import ingest
from tests.support.aws import as_function
from tests.support.builders import jpeg, load_event, seed_annotation

PAIR = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"

Put = Callable[..., dict[str, Any]]


class _Context:
    function_name = "ingest"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
    aws_request_id = "req-1"


def deliver(*messages: dict[str, Any]) -> dict[str, Any]:
    handler = ingest.create_handler()  # a cold start: the function reads its settings again
    with as_function("ingest"):  # exactly the ingest role's permissions
        result: dict[str, Any] = handler(events.sqs_event([json.dumps(m) for m in messages]), _Context())
    return result


def summary(app_settings: Settings, **kwargs: Any) -> dict[str, Any]:
    return IngestReport(DynamoDatasetRecords(app_settings.table_name), app_settings).summary("acme", **kwargs)


def pair_item(app_settings: Settings, pair: str = PAIR) -> PairRecord:
    item = DynamoDatasetRecords(app_settings.table_name).get_pair("acme", pair)
    assert item is not None, f"no record of pair {pair}"
    return item


def stored(app_settings: Settings, key: str) -> bytes:
    body: bytes = clients.client("s3").get_object(Bucket=app_settings.dataset_bucket, Key=key)["Body"].read()
    return body


def upload_pair(put: Put, image: bytes, annotation: bytes, pair: str = PAIR) -> tuple[dict[str, Any], dict[str, Any]]:
    return put(f"acme/{pair}/image", image, "image/jpeg"), put(f"acme/{pair}/annotation.json", annotation)


def test_the_second_half_of_a_pair_triggers_processing(put_upload: Put, app_settings: Settings) -> None:
    image_event, annotation_event = upload_pair(
        put_upload, jpeg(64, 48), seed_annotation("shoe.jpg", 64, 48, [(0, 4, 4, 20, 20), (1, 30, 10, 20, 30)])
    )

    assert deliver(image_event) == {"batchItemFailures": []}
    assert pair_item(app_settings).status == "pending"
    assert deliver(annotation_event) == {"batchItemFailures": []}

    item = pair_item(app_settings)
    assert item.status == "accepted"
    image = stored(app_settings, item.files.image_key)
    assert Image.open(io.BytesIO(image)).getexif() == {}
    # Both outputs are named by the SHA-256 of their bytes, under the brand's objects/.
    assert item.files.image_key == f"acme/objects/{hashlib.sha256(image).hexdigest()}.jpg"
    annotation = stored(app_settings, item.files.annotation_key)
    assert item.files.annotation_key == f"acme/objects/{hashlib.sha256(annotation).hexdigest()}.json"
    document = json.loads(annotation)
    assert document["file"] == item.files.image_key.rsplit("/", 1)[-1]
    assert document["source"]["file"] == "shoe.jpg"
    assert [a["class_id"] for a in document["annotations"]] == [0, 1]
    report = summary(app_settings)
    assert report["images"] == 1
    assert report["classes"] == [
        {"class_id": 0, "name": "genuine", "images": 1, "boxes": 1},
        {"class_id": 1, "name": "counterfeit", "images": 1, "boxes": 1},
    ]


def test_annotation_first_then_image(put_upload: Put, app_settings: Settings) -> None:
    image_event, annotation_event = upload_pair(
        put_upload, jpeg(), seed_annotation("a.jpg", 64, 48, [(0, 4, 4, 20, 20)])
    )
    deliver(annotation_event)
    assert pair_item(app_settings).status == "pending"
    deliver(image_event)
    assert pair_item(app_settings).status == "accepted"


def test_the_same_upload_delivered_twice_counts_once(put_upload: Put, app_settings: Settings) -> None:
    image_event, annotation_event = upload_pair(
        put_upload, jpeg(), seed_annotation("a.jpg", 64, 48, [(0, 4, 4, 20, 20), (0, 30, 4, 20, 20)])
    )
    deliver(image_event, annotation_event)
    deliver(annotation_event)
    deliver(image_event, annotation_event)

    report = summary(app_settings)
    assert report["images"] == 1
    assert report["classes"][0]["boxes"] == 2
    assert report["counts"]["accepted"] == 1


def test_an_older_event_does_not_replace_a_newer_upload(put_upload: Put, app_settings: Settings) -> None:
    old_image = put_upload(f"acme/{PAIR}/image", jpeg(color=(10, 10, 10)), "image/jpeg")
    new_image = put_upload(f"acme/{PAIR}/image", jpeg(color=(250, 250, 250)), "image/jpeg")
    annotation = put_upload(f"acme/{PAIR}/annotation.json", seed_annotation("a.jpg", 64, 48, [(0, 4, 4, 20, 20)]))
    deliver(new_image, annotation)
    deliver(old_image)

    item = pair_item(app_settings)
    newest = new_image["Records"][0]["s3"]["object"]["versionId"]
    assert item.image_version == newest
    assert (item.fingerprint or "").startswith(newest)


def test_a_replaced_annotation_moves_the_counts(put_upload: Put, app_settings: Settings) -> None:
    image_event, first = upload_pair(put_upload, jpeg(), seed_annotation("a.jpg", 64, 48, [(0, 4, 4, 20, 20)]))
    deliver(image_event, first)
    second = put_upload(f"acme/{PAIR}/annotation.json", seed_annotation("a.jpg", 64, 48, [(1, 4, 4, 20, 20)]))
    deliver(second)

    classes = {c["name"]: c for c in summary(app_settings)["classes"]}
    assert classes["genuine"]["images"] == 0
    assert classes["counterfeit"]["images"] == 1
    assert summary(app_settings)["images"] == 1


def test_a_photo_stored_sideways_is_made_upright_with_its_boxes(put_upload: Put, app_settings: Settings) -> None:
    # Stored 64x48 with orientation 6: upright it is 48x64. The box is given in stored coordinates.
    deliver(*upload_pair(put_upload, jpeg(64, 48, orientation=6), seed_annotation("s.jpg", 64, 48, [(0, 0, 0, 16, 8)])))

    document = json.loads(stored(app_settings, pair_item(app_settings).files.annotation_key))
    assert document["image_size"][0]["width"] == 48
    assert document["image_size"][0]["height"] == 64
    box = document["annotations"][0]
    assert (box["left"], box["top"], box["width"], box["height"]) == (40, 0, 8, 16)


def _truncated() -> bytes:
    data = jpeg(256, 256)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("image", "annotation", "fragment"),
    [
        (b"", seed_annotation("e.jpg", 64, 48, [(0, 1, 1, 5, 5)]), "empty"),
        (_truncated(), seed_annotation("t.jpg", 256, 256, [(0, 1, 1, 5, 5)]), "truncated"),
        (b"this is not a photo at all" * 10, seed_annotation("n.jpg", 64, 48, [(0, 1, 1, 5, 5)]), "not"),
        (jpeg(), b"{not json", "JSON"),
        (jpeg(), json.dumps({"file": "m.jpg"}).encode(), "annotations"),
        (jpeg(), seed_annotation("o.jpg", 64, 48, [(0, 100, 100, 5, 5)]), "outside"),
        (jpeg(), seed_annotation("z.jpg", 64, 48, [(0, 1, 1, 0, 5)]), "area"),
        (jpeg(), seed_annotation("u.jpg", 64, 48, [(7, 1, 1, 5, 5)]), "7"),
        (jpeg(), seed_annotation("s.jpg", 100, 100, [(0, 1, 1, 5, 5)]), "100"),
    ],
    ids=[
        "empty",
        "truncated",
        "not-an-image",
        "bad-json",
        "missing-field",
        "outside",
        "zero-area",
        "unknown-class",
        "size-mismatch",
    ],
)
def test_bad_input_is_rejected_with_a_reason_and_the_upload_kept(
    put_upload: Put, app_settings: Settings, image: bytes, annotation: bytes, fragment: str
) -> None:
    assert deliver(*upload_pair(put_upload, image, annotation)) == {"batchItemFailures": []}

    item = pair_item(app_settings)
    assert item.status == "rejected"
    assert fragment.lower() in (item.reason + json.dumps([dict(p) for p in item.problems])).lower()
    report = summary(app_settings)
    assert report["counts"]["rejected"] == 1
    assert report["rejected"][0]["reason"]
    assert report["images"] == 0
    uploads = clients.client("s3").list_objects_v2(Bucket=app_settings.uploads_bucket)["Contents"]
    assert len(uploads) == 2  # the raw upload stays
    assert "Contents" not in clients.client("s3").list_objects_v2(Bucket=app_settings.dataset_bucket, Prefix="acme/")


def test_over_size_and_pixel_bombs_are_refused(
    put_upload: Put, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_IMAGE_BYTES", "2000")
    monkeypatch.setenv("MAX_PIXELS", "100000")

    big = jpeg(64, 48) + b"\0" * 5000
    deliver(*upload_pair(put_upload, big, seed_annotation("b.jpg", 64, 48, [(0, 1, 1, 5, 5)])))
    assert "limit" in pair_item(app_settings).reason

    monkeypatch.setenv("MAX_IMAGE_BYTES", str(25 * 1024 * 1024))
    bomb = Image.new("L", (2000, 2000))
    out = io.BytesIO()
    bomb.save(out, "PNG", optimize=True)
    deliver(*upload_pair(put_upload, out.getvalue(), seed_annotation("p.png", 2000, 2000, [(0, 1, 1, 5, 5)]), OTHER))
    assert "pixel" in pair_item(app_settings, OTHER).reason.lower()


def test_a_key_outside_any_brand_prefix_is_recorded_not_retried(put_upload: Put, app_settings: Settings) -> None:
    result = deliver(put_upload("../escape.jpg", jpeg()), put_upload("acme/not-a-pair/image", jpeg()))
    assert result == {"batchItemFailures": []}
    items = clients.client("dynamodb").scan(TableName=app_settings.table_name)["Items"]
    unscoped = [i for i in items if i["pk"]["S"] == "UNSCOPED"]
    assert len(unscoped) == 2
    assert all(i["reason"]["S"] for i in unscoped)


def test_half_a_pair_is_pending_then_stale(put_upload: Put, app_settings: Settings) -> None:
    deliver(put_upload(f"acme/{PAIR}/annotation.json", seed_annotation("a.jpg", 64, 48, [(0, 1, 1, 5, 5)])))
    deliver(put_upload(f"acme/{OTHER}/image", jpeg(), "image/jpeg"))

    now = summary(app_settings)
    assert now["counts"]["pending"] == 2
    assert {p["missing"] for p in now["pending"]} == {"image", "annotation"}
    later = summary(app_settings, now=__import__("time").time() + app_settings.pair_stale_seconds + 1)
    assert later["counts"]["stale"] == 2


def test_the_same_photo_in_two_pairs_is_one_object_and_withdrawing_one_pair_keeps_it(
    put_upload: Put, app_settings: Settings
) -> None:
    photo = jpeg(64, 48, color=(40, 90, 160))
    deliver(*upload_pair(put_upload, photo, seed_annotation("a.jpg", 64, 48, [(0, 4, 4, 20, 20)])))
    deliver(*upload_pair(put_upload, photo, seed_annotation("b.jpg", 64, 48, [(1, 4, 4, 20, 20)]), OTHER))
    first, second = pair_item(app_settings), pair_item(app_settings, OTHER)
    assert (first.status, second.status) == ("accepted", "accepted")
    assert first.files.image_key == second.files.image_key  # one object, shared
    assert first.files.annotation_key != second.files.annotation_key  # each pair's own annotation
    s3 = clients.client("s3")
    listed = s3.list_object_versions(Bucket=app_settings.dataset_bucket, Prefix="acme/objects/")["Versions"]
    assert sum(v["Key"] == first.files.image_key for v in listed) == 1  # written once, not twice

    # The first pair's annotation is replaced by one that cannot be used: the pair is withdrawn from the
    # dataset, by its record; the photo it shared stays, and so does everything a manifest may have frozen.
    withdrawn = put_upload(f"acme/{PAIR}/annotation.json", seed_annotation("a.jpg", 64, 48, [(0, 100, 100, 5, 5)]))
    deliver(withdrawn)

    assert pair_item(app_settings).status == "rejected"
    entries = DynamoDatasetRecords(app_settings.table_name).entries("acme")
    assert [(e.pair_id, e.image_key) for e in entries] == [(OTHER, second.files.image_key)]
    assert stored(app_settings, second.files.image_key) == stored(app_settings, first.files.image_key)
    assert stored(app_settings, first.files.annotation_key)
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=app_settings.dataset_bucket, Prefix="acme/")
    assert summary(app_settings)["images"] == 1


def test_a_class_renamed_by_a_later_upload_is_refused(put_upload: Put, app_settings: Settings) -> None:
    deliver(*upload_pair(put_upload, jpeg(), seed_annotation("a.jpg", 64, 48, [(0, 1, 1, 5, 5)])))
    renamed = seed_annotation("b.jpg", 64, 48, [(0, 1, 1, 5, 5)], categories=[{"class_id": 0, "name": "real"}])
    deliver(*upload_pair(put_upload, jpeg(), renamed, OTHER))

    item = pair_item(app_settings, OTHER)
    assert item.status == "rejected"
    assert "'genuine'" in item.reason and "'real'" in item.reason
    assert summary(app_settings)["images"] == 1


def test_a_transient_failure_is_reported_for_retry_and_the_rest_of_the_batch_succeeds(
    put_upload: Put, app_settings: Settings, moto_aws: Provisioned
) -> None:
    image_event, annotation_event = upload_pair(put_upload, jpeg(), seed_annotation("a.jpg", 64, 48, [(0, 1, 1, 5, 5)]))
    deliver(image_event)
    s3 = clients.client("s3")
    s3.delete_bucket(Bucket=app_settings.dataset_bucket)  # writes now fail as a transient outage would
    other = put_upload(f"acme/{OTHER}/image", jpeg(), "image/jpeg")

    sqs = events.sqs_event([json.dumps(annotation_event), json.dumps(other)])
    with as_function("ingest"):
        result = ingest.create_handler()(sqs, _Context())

    assert result == {"batchItemFailures": [{"itemIdentifier": sqs["Records"][0]["messageId"]}]}
    assert pair_item(app_settings).status == "pending"  # nothing half-done: retried later
    s3.create_bucket(Bucket=app_settings.dataset_bucket)
    deliver(annotation_event)
    assert pair_item(app_settings).status == "accepted"


def test_s3_test_events_and_sample_shapes_are_understood(put_upload: Put, app_settings: Settings) -> None:
    with as_function("ingest"):
        answer = ingest.create_handler()(load_event("sqs_s3_test_event.json"), _Context())
    assert answer == {"batchItemFailures": []}
    sample = load_event("sqs_s3_object_created.json")
    (created,) = ingest.notifications(sample["Records"][0]["body"])
    assert (created.key, created.version_id, created.sequencer) == ("KEY", "VERSION", "0055AED6DCD90281E5")


def test_more_classes_than_a_brand_may_have_is_a_recorded_rejection(put_upload: Put, app_settings: Settings) -> None:
    categories = [{"class_id": i, "name": f"product-{i}"} for i in range(65)]
    annotation = seed_annotation("many.jpg", 64, 48, [(0, 1, 1, 5, 5)], categories=categories)

    assert deliver(*upload_pair(put_upload, jpeg(), annotation)) == {"batchItemFailures": []}  # never to the DLQ

    item = pair_item(app_settings)
    assert item.status == "rejected"
    assert "at most 64" in item.reason


def test_unbounded_names_and_reasons_are_kept_bounded(put_upload: Put, app_settings: Settings) -> None:
    name = "x" * 20_000 + ".jpg"
    boxes: list[tuple[int, float, float, float, float]] = [
        (0, 1000 + i, 1000, 5, 5) for i in range(500)
    ]  # every box outside the image: 500 reasons naming it
    assert deliver(*upload_pair(put_upload, jpeg(), seed_annotation(name, 64, 48, boxes))) == {"batchItemFailures": []}

    item = pair_item(app_settings)
    assert item.status == "rejected"
    assert len(item.reason) <= 1000 and len(item.files.source_file) <= 255
    assert len(item.problems) <= 101 and all(len(str(p["reason"])) <= 300 for p in item.problems)
