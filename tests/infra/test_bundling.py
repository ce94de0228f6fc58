"""The one test that really bundles: the Lambda asset built through CDK's local bundling (pip, no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authentic import wiring

ELF_MACHINE_X86_64 = 62
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for a function's unzipped code


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    from stacks.constructs.bundling import RUNTIME, lambda_code

    outdir = tmp_path_factory.mktemp("bundled")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Bundled")
    lambda_.Function(stack, "Function", runtime=RUNTIME, handler="lambdas.verify.handler", code=lambda_code())
    app.synth()
    assets = json.loads((outdir / "Bundled.assets.json").read_text())["files"]
    zipped = [a["source"]["path"] for a in assets.values() if a["source"].get("packaging") == "zip"]
    assert len(zipped) == 1
    return outdir / str(zipped[0])


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    return int.from_bytes(header[18:20], "little")


def wheel_tags(bundle: Path, distribution: str) -> list[str]:
    (info,) = bundle.glob(f"{distribution}-*.dist-info")
    return [
        line.split(":", 1)[1].strip() for line in (info / "WHEEL").read_text().splitlines() if line.startswith("Tag:")
    ]


@pytest.mark.slow
def test_pillow_is_the_manylinux_2_28_x86_64_build_for_the_runtime(bundle: Path) -> None:
    from stacks.constructs.bundling import PYTHON_VERSION

    abi = "cp" + PYTHON_VERSION.replace(".", "")
    assert f"{abi}-{abi}-manylinux_2_28_x86_64" in wheel_tags(bundle, "pillow")
    (imaging,) = (bundle / "PIL").glob(f"_imaging.cpython-{abi[2:]}-x86_64-linux-gnu.so")
    assert elf_machine(imaging) == ELF_MACHINE_X86_64


@pytest.mark.slow
def test_the_runtime_dependencies_are_there_compiled_for_linux(bundle: Path) -> None:
    (core,) = (bundle / "pydantic_core").glob("_pydantic_core.cpython-*-x86_64-linux-gnu.so")
    assert elf_machine(core) == ELF_MACHINE_X86_64
    assert (bundle / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (bundle / "pillow_heif" / "__init__.py").is_file()
    assert (bundle / "boto3" / "__init__.py").is_file()


@pytest.mark.slow
def test_our_packages_and_every_handler_are_there(bundle: Path) -> None:
    assert (bundle / "authentic" / "__init__.py").is_file()
    assert (bundle / "authentic" / "wiring.py").is_file()
    assert (bundle / "lambdas" / "__init__.py").is_file()
    for function in wiring.FUNCTIONS:
        module, _attribute = function.handler.rsplit(".", 1)
        assert (bundle / (module.replace(".", "/") + ".py")).is_file(), function.handler
    assert not list(bundle.rglob("__pycache__"))


@pytest.mark.slow
def test_no_training_or_inference_stack_and_within_lambda_limits(bundle: Path) -> None:
    for heavy in ("torch", "torchvision", "ultralytics", "onnxruntime", "cv2", "moto"):
        assert not (bundle / heavy).exists(), heavy
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size < MAX_UNZIPPED_BYTES
