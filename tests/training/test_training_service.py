"""The training orchestration on its ports, with fakes given to it: the rules that must hold whatever the
storage, including the races a real deployment meets."""

from __future__ import annotations

import hashlib

import pytest

from authentic import keys
from authentic.aws.ports import Contribution, JobStart, Outcome, PairFiles
from authentic.errors import Conflict, InvalidInput
from authentic.settings import Settings
from authentic.training.jobs import Training
from tests.support.fakes import FakeDatasetRecords, FakeModelRecords, FakeObjectStore, FakeTrainingJobs

SETTINGS = Settings(uploads_bucket="uploads", dataset_bucket="dataset", table_name="table", min_images_per_class=2)


def seeded(per_class: dict[int, int]) -> tuple[FakeDatasetRecords, FakeObjectStore]:
    """A brand whose ingest accepted `per_class` images of each class."""
    datasets, store = FakeDatasetRecords(), FakeObjectStore(buckets=("dataset",))
    names = {0: "shoe", 1: "fake"}
    n = 0
    for class_id, count in per_class.items():
        for _ in range(count):
            pair = f"{n:032x}"
            n += 1
            image_bytes, annotation_bytes = b"jpeg%d" % n, b'{"n": %d}' % n
            image_key = keys.dataset_object_key("acme", hashlib.sha256(image_bytes).hexdigest(), "jpg")
            annotation_key = keys.dataset_object_key("acme", hashlib.sha256(annotation_bytes).hexdigest(), "json")
            store.put_if_absent("dataset", image_key, image_bytes, content_type="image/jpeg")
            store.put_if_absent("dataset", annotation_key, annotation_bytes, content_type="application/json")
            datasets.record_arrival("acme", pair, "image", version_id=f"i{n}", size=1, sequencer="01")
            previous = datasets.record_arrival("acme", pair, "annotation", version_id=f"a{n}", size=1, sequencer="01")
            datasets.commit_outcome(
                "acme",
                pair,
                previous,
                Outcome(
                    status="accepted",
                    fingerprint=f"i{n}|a{n}",
                    contribution=Contribution(1, {class_id: 1}, {class_id: 1}),
                    categories={class_id: names[class_id]},
                    files=PairFiles(image_key=image_key, annotation_key=annotation_key, sha256=image_key[-68:-4]),
                ),
            )
    return datasets, store


class RacingModels(FakeModelRecords):
    """The moment the slot of an ended job is freed, another finish of the brand takes it."""

    def release_job_slot(self, brand_id: str, job_name: str) -> None:
        super().release_job_slot(brand_id, job_name)
        if job_name == "authentic-acme-ended":
            self.record_job_start(brand_id, "authentic-acme-racer", JobStart("r", "acme/manifests/r.json", 2.0, {}))
            self.acquire_job_slot(brand_id, "authentic-acme-racer")


def test_a_freed_slot_taken_by_a_racing_finish_is_a_conflict_not_a_second_job() -> None:
    datasets, store = seeded({0: 3, 1: 3})
    models, jobs = RacingModels(), FakeTrainingJobs()
    jobs.create({"TrainingJobName": "authentic-acme-ended", "HyperParameters": {}})
    jobs.finish("authentic-acme-ended", "Failed", reason="its end event was lost")
    models.acquire_job_slot("acme", "authentic-acme-ended")
    training = Training(datasets, models, store, jobs, SETTINGS)

    with pytest.raises(Conflict, match="authentic-acme-racer"):
        training.start("acme")

    assert [r["TrainingJobName"] for r in jobs.requests] == ["authentic-acme-ended"]  # nothing else was started
    assert models.acquire_job_slot("acme", "x") == "authentic-acme-racer"


def test_a_typo_in_the_hyperparameters_is_refused_before_anything_starts() -> None:
    datasets, store = seeded({0: 3, 1: 3})
    models, jobs = FakeModelRecords(), FakeTrainingJobs()
    training = Training(datasets, models, store, jobs, SETTINGS)

    with pytest.raises(InvalidInput, match="epochz") as refused:
        training.start("acme", {"epochz": "30", "imgsz": "big"})

    assert "imgsz" in refused.value.message  # every bad key is named at once
    assert jobs.requests == []
    assert models.acquire_job_slot("acme", "x") == "x"  # no slot was taken
