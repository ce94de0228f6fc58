"""The automatic image size: from the boxes on the CPU, from the photos' long side on a GPU."""

from __future__ import annotations

from authentic.training.container.recipe import MIN_BOX_SIDE_PX, choose_imgsz, training_path


def test_the_recipe_path_names_the_hardware_and_the_start() -> None:
    assert training_path("cpu", pretrained=False) == "cpu-scratch"
    assert training_path("0", pretrained=True) == "gpu-pretrained"


def test_on_the_cpu_the_smallest_size_that_keeps_nearly_all_boxes_readable() -> None:
    # playing-card-like: 800 px photos, boxes' short side 12% to 40% of the long side
    ratios = [0.12 + 0.28 * i / 99 for i in range(100)]
    choice = choose_imgsz(0, path="cpu-scratch", long_sides=[800] * 20, box_ratios=ratios)
    assert choice.rule == "boxes"
    assert choice.imgsz % 32 == 0
    assert choice.box_side_px is not None and choice.box_side_px >= MIN_BOX_SIDE_PX
    smaller = choice.imgsz - 32
    assert sorted(ratios)[5] * smaller < MIN_BOX_SIDE_PX  # one step smaller would not keep them


def test_small_boxes_ask_for_more_pixels_up_to_640_and_never_above_the_photos() -> None:
    tiny = choose_imgsz(0, path="cpu-scratch", long_sides=[4000] * 5, box_ratios=[0.02] * 50)
    assert tiny.imgsz == 640
    small_photos = choose_imgsz(0, path="cpu-scratch", long_sides=[200] * 5, box_ratios=[0.05] * 50)
    assert small_photos.imgsz == 224  # the photos' long side, rounded up to 32
    big_boxes = choose_imgsz(0, path="cpu-scratch", long_sides=[1000] * 5, box_ratios=[0.8] * 50)
    assert big_boxes.imgsz == 160


def test_a_gpu_uses_the_long_side_and_a_set_size_is_kept() -> None:
    gpu = choose_imgsz(0, path="gpu-pretrained", long_sides=[800] * 5, box_ratios=[0.3] * 10)
    assert (gpu.imgsz, gpu.rule) == (640, "long side")
    fixed = choose_imgsz(320, path="cpu-scratch", long_sides=[800], box_ratios=[0.3])
    assert (fixed.imgsz, fixed.rule) == (320, "set")
    assert choose_imgsz(0, path="cpu-scratch", long_sides=[], box_ratios=[]).imgsz == 640
