"""`authentic`: one entry point for the local runtime, the demo and the brand-side API.

Every command that talks to the API targets the local runtime (the URL `authentic local up` recorded) or a
deployed API (`--api URL --sign`, SigV4 credentials and region from the usual AWS configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from authentic.errors import DomainError
from authentic.training.hyperparameters import DEFAULT_TIME_LIMIT_MINUTES

STATE_DIR = Path(".local")
RUNTIME_FILE = "runtime.json"
FORMATS = ("seed", "coco", "yolo", "voc", "groundtruth")


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


# -- the parser -----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authentic", description="Counterfeit detection: brands train detectors, shoppers get verdicts."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="the embedded default: the whole platform on this machine")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    up = local_commands.add_parser("up", help="start the local runtime and serve its API until interrupted")
    up.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (default 8000; 0 picks one)")
    up.add_argument("--state", type=Path, default=STATE_DIR, help="where jobs, models and runtime.json live")
    up.add_argument("--min-images-per-class", type=int, default=None, help="training minimum (default 10)")
    up.add_argument("--verbose", action="store_true", help="the handlers' JSON logs and metrics on stdout")

    demo = commands.add_parser("demo", help="the whole story on a synthetic brand, end to end")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="where annotated verdicts go")
    demo.add_argument("--images", type=int, default=60, help="photos in the synthetic brand (default 60)")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (default: the demo recipe)")
    demo.add_argument("--imgsz", type=int, default=None, help="training image size (default: the demo recipe)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic brand")

    api_parent = argparse.ArgumentParser(add_help=False)
    api_parent.add_argument("--api", default=None, help="API base URL (default: $AUTHENTIC_API_URL or local up)")
    api_parent.add_argument("--sign", action="store_true", help="sign requests with SigV4 (a deployed API)")
    api_parent.add_argument("--region", default=None, help="AWS region for signing (default: AWS config)")
    api_parent.add_argument("--json", action="store_true", help="print the raw JSON answer")
    brand_parent = argparse.ArgumentParser(add_help=False)
    brand_parent.add_argument("--brand", required=True, help="the brand id (lowercase letters, digits, hyphens)")

    imp = commands.add_parser(
        "import", parents=[api_parent, brand_parent], help="upload an annotated dataset through presigned forms"
    )
    imp.add_argument("folder", type=Path, help="the dataset folder")
    imp.add_argument("--format", choices=FORMATS, default="seed", help="annotation format (default seed)")
    imp.add_argument("--wait", type=float, default=300, help="seconds to wait for ingest results (default 300)")

    commands.add_parser(
        "uploads", parents=[api_parent, brand_parent], help="the brand's ingest results: counts, rejections"
    )

    train = commands.add_parser("train", parents=[api_parent, brand_parent], help="start training the brand")
    train.add_argument("--wait", action="store_true", help="follow the job with a progress bar to its end")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a training hyperparameter, e.g. epochs=30"
    )
    train.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_MINUTES,
        metavar="MINUTES",
        help=f"training budget in minutes (default {DEFAULT_TIME_LIMIT_MINUTES:g}; 0: the epochs decide); "
        "the recipe fits image size and epochs to it",
    )

    job = commands.add_parser("job", parents=[api_parent, brand_parent], help="a training job's state")
    job.add_argument("job_name", help="the job name `train` printed")

    verify = commands.add_parser(
        "verify",
        parents=[api_parent, brand_parent],
        help="verify a shopper's photo (the brand's answer: near misses and thresholds included)",
    )
    verify.add_argument("photo", type=Path, help="a JPEG, PNG or HEIC photo")
    verify.add_argument("--annotate", type=Path, default=None, metavar="OUT.jpg", help="draw the verdict here")
    verify.add_argument(
        "--public", action="store_true", help="ask the public route, as a shopper does (verdict and counting boxes)"
    )

    commands.add_parser("models", parents=[api_parent, brand_parent], help="the brand's model versions")

    promote = commands.add_parser("promote", parents=[api_parent, brand_parent], help="make a version live")
    promote.add_argument("version", type=int, help="the version number")
    promote.add_argument("--force", action="store_true", help="promote even below the quality gate")
    promote.add_argument("--reason", default="", help="why (recorded with the promotion)")

    policy = commands.add_parser(
        "policy", parents=[api_parent, brand_parent], help="show or set each class's role and threshold"
    )
    policy.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="CLASS:role=R,threshold=T",
        help="e.g. --set fake:role=counterfeit,threshold=0.4 (repeatable)",
    )
    policy.add_argument(
        "--barcode", choices=("off", "advisory", "required"), default=None, help="how barcodes weigh in verdicts"
    )

    gtins = commands.add_parser(
        "gtins", parents=[api_parent, brand_parent], help="show or set the brand's registered GTINs (barcodes)"
    )
    gtins.add_argument("--file", type=Path, default=None, help="CSV: gtin[,class[,format]] a line; replaces the list")
    gtins.add_argument(
        "--add", action="append", default=[], metavar="GTIN[:class]", help="add (or re-class) one; UPC-E:NUMBER[:class]"
    )
    gtins.add_argument("--remove", action="append", default=[], metavar="GTIN", help="remove one from the list")
    return parser


# -- commands -------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "local":
            return _local_up(args)
        if args.command == "demo":
            from authentic.cli.demo import run_demo  # noqa: PLC0415

            return run_demo(args.out, images=args.images, epochs=args.epochs, imgsz=args.imgsz, seed=args.seed)
        return _api_command(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _local_up(args: argparse.Namespace) -> int:
    from authentic.local.runtime import LocalRuntime  # noqa: PLC0415

    overrides: dict[str, Any] = {}
    if args.min_images_per_class is not None:
        overrides["min_images_per_class"] = args.min_images_per_class
    runtime = LocalRuntime(args.state, api_port=args.port, overrides=overrides, quiet=not args.verbose)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    runtime.start()
    record = args.state / RUNTIME_FILE
    # What an operator (or a probe from outside) needs: the API, the AWS endpoint, the resources' local names and,
    # for each function, the key of a local principal holding exactly that function's policy.
    record.unlink(missing_ok=True)  # created anew, readable by its owner only from the start: it holds keys
    descriptor = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({**runtime.describe(), "pid": os.getpid(), "started": time.time()}, out, indent=2)
    print(f"local runtime up. API: {runtime.api_url}")
    print(f"  shopper's page: {runtime.api_url}/?brand={{brandId}}   (API document: docs/openapi.json)")
    print(f"  try: authentic train --brand acme --wait   (state in {args.state.resolve()})")
    print("  Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        for stop_signal in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the clean-up short
            signal.signal(stop_signal, signal.SIG_IGN)
        runtime.stop()
        record.unlink(missing_ok=True)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _client(args: argparse.Namespace) -> Any:
    from authentic.cli.client import ApiClient  # noqa: PLC0415

    url = args.api or os.environ.get("AUTHENTIC_API_URL")
    if not url:
        record = STATE_DIR / RUNTIME_FILE
        if record.exists():
            url = json.loads(record.read_text())["api_url"]
    if not url:
        raise CliError("no API to talk to: start `authentic local up` in another terminal, or pass --api URL")
    try:
        return ApiClient(url, sign=args.sign, region=args.region)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _api_command(args: argparse.Namespace) -> int:
    from authentic.cli.client import ApiError  # noqa: PLC0415

    client = _client(args)
    try:
        return int(_COMMANDS[args.command](client, args))
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        details = exc.body.get("details") if isinstance(exc.body, dict) else None
        if details:
            print(json.dumps(details, indent=2, default=str), file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach the API at {client.base_url}: {exc}") from exc
    finally:
        client.close()


def _print(args: argparse.Namespace, body: Any, text: str) -> int:
    print(json.dumps(body, indent=2, default=str) if args.json else text)
    return 0


def _cmd_import(client: Any, args: argparse.Namespace) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from authentic.cli import flows  # noqa: PLC0415

    if not args.folder.is_dir():
        raise CliError(f"{args.folder} is not a folder")
    uploads, refused = flows.prepare_import(args.folder, args.format)
    downscaled = sum(u.scale != 1.0 for u in uploads)
    print(
        f"{len(uploads)} annotated photos to upload, {len(refused)} refused before upload"
        + (f", {downscaled} downscaled (boxes with them) to fit the upload limits" if downscaled else "")
    )
    with (
        tqdm(total=len(uploads), desc="uploading", unit="photo") as up_bar,
        tqdm(total=len(uploads), desc="ingested ", unit="photo") as in_bar,
    ):
        report = flows.import_folder(
            client,
            args.brand,
            args.folder,
            args.format,
            on_upload=up_bar.update,
            on_ingested=in_bar.update,
            wait_seconds=args.wait,
            prepared=(uploads, refused),
        )
    print(_import_text(report))
    return 0 if not report.pending and not report.failed else 1


def _import_text(report: Any) -> str:
    lines = [
        f"accepted {len(report.accepted)}, rejected {len(report.rejected)}, still pending {len(report.pending)}, "
        f"refused before upload {len(report.not_uploaded)}"
        + (f", upload failed {len(report.failed)} (import them again)" if report.failed else "")
    ]
    lines += [f"  rejected  {name}: {reason}" for name, reason in report.rejected]
    lines += [f"  refused   {name}: {reason}" for name, reason in report.not_uploaded]
    lines += [f"  failed    {name}: {reason}" for name, reason in report.failed]
    lines += [f"  box dropped in {name}: {reason}" for name, reason in report.box_problems[:20]]
    lines += [f"  pending   {name}" for name in report.pending[:20]]
    return "\n".join(lines)


def _cmd_uploads(client: Any, args: argparse.Namespace) -> int:
    summary = client.ingest_summary(args.brand)
    lines = [f"brand {args.brand}: {summary['images']} images in the dataset; {summary['counts']}"]
    lines += [
        f"  class {c['class_id']} {c['name']}: {c['images']} images, {c['boxes']} boxes" for c in summary["classes"]
    ]
    lines += [f"  rejected {p.get('file', p['pair_id'])}: {p.get('reason')}" for p in summary.get("rejected", [])]
    lines += [f"  {p['status']} {p['pair_id']}: waiting for its {p['missing']}" for p in summary.get("pending", [])]
    lines += [f"  stale {p['pair_id']}: its {p['missing']} never arrived" for p in summary.get("stale", [])]
    return _print(args, summary, "\n".join(lines))


def _hyperparameters(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--set {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _cmd_train(client: Any, args: argparse.Namespace) -> int:

    hyperparameters = _hyperparameters(args.set)
    if args.time_limit < 0:
        raise CliError("--time-limit: expected minutes, 0 or more")
    hyperparameters.setdefault("time_limit_minutes", f"{args.time_limit:g}")
    if not args.wait:
        job = client.start_training(args.brand, hyperparameters)
        return _print(args, job, f"training job {job['job_name']}: {job['state']}")
    job = _follow(client, args.brand, hyperparameters)
    text = _job_text(job)
    _print(args, job, text)
    return 0 if job.get("state") == "Completed" else 1


def _follow(client: Any, brand: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    from tqdm import tqdm  # noqa: PLC0415

    from authentic.cli import flows  # noqa: PLC0415

    minutes = float(hyperparameters.get("time_limit_minutes") or 0)
    budget = f" (budget {minutes:g} min)" if minutes > 0 else ""
    bar = tqdm(total=None, desc=f"training{budget}", unit="epoch")

    def progress(job: dict[str, Any]) -> None:
        p = job.get("progress") or {}
        if p.get("epochs") and bar.total != p["epochs"]:
            bar.total = p["epochs"]
        if p.get("epoch") is not None and p["epoch"] > bar.n:
            bar.update(p["epoch"] - bar.n)
        status = job.get("secondary_status") or job.get("state")
        bar.set_postfix_str(f"{status} mAP50={p.get('map50') if p.get('map50') is not None else '-'}")

    try:
        return flows.train_and_wait(client, brand, hyperparameters, on_progress=progress)
    finally:
        bar.close()


def _job_text(job: dict[str, Any]) -> str:
    lines = [f"training job {job['job_name']}: {job.get('state')} ({job.get('secondary_status', '')})"]
    if job.get("failure_reason"):
        lines.append(f"  failure: {job['failure_reason']}")
    metrics = job.get("metrics") or {}
    if metrics:
        lines.append(
            f"  mAP50 {metrics.get('map50', 0):.3f}  mAP50-95 {metrics.get('map50_95', 0):.3f}  precision "
            f"{metrics.get('precision', 0):.3f}  recall {metrics.get('recall', 0):.3f}  "
            f"threshold {metrics.get('threshold', 0):.2f}"
        )
        for name, m in (metrics.get("per_class") or {}).items():
            lines.append(f"    {name}: mAP50 {m.get('map50', 0):.3f}, threshold {m.get('threshold', 0):.2f}")
    if "version" in job:
        gate = job.get("gate", {})
        lines.append(
            f"  version {job['version']}: {'live' if gate.get('passed') else 'not live'} ({gate.get('reason')})"
        )
        lines.extend(_advice_lines(gate.get("advice") or {}))
    return "\n".join(lines)


def _advice_lines(advice: dict[str, Any]) -> list[str]:
    """Why the gate said no, for the brand: the weakest classes and what to do."""
    lines = []
    for row in advice.get("weakest_classes", []):
        lines.append(
            f"    weak class {row['name']}: AP50 {row['map50']:.3f}, {row['train_images']} training and "
            f"{row['val_images']} validation photos"
        )
    lines.extend(f"  suggestion: {text}" for text in advice.get("suggestions", []))
    return lines


def _cmd_job(client: Any, args: argparse.Namespace) -> int:
    job = client.training_job(args.brand, args.job_name)
    return _print(args, job, _job_text(job))


def _cmd_verify(client: Any, args: argparse.Namespace) -> int:
    from authentic.cli import flows  # noqa: PLC0415

    if not args.photo.is_file():
        raise CliError(f"{args.photo} is not a file")
    try:
        verified = flows.verify_photo(client, args.brand, args.photo, public=args.public)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    answer = verified.answer
    lines = [f"{answer['verdict'].upper()}: {answer['reason']}"]
    if verified.sent.changed:
        lines.append(
            f"(sent downscaled, upright, to {verified.sent.scale:.0%}: {verified.sent.original_bytes / 1e6:.1f} MB "
            f"-> {len(verified.sent.data) / 1e6:.1f} MB, to fit the route's limits; boxes are in the original)"
        )
    for d in answer.get("detections", [])[:20]:
        box = d["box"]
        mark = "*" if d.get("counts", True) else " "  # the public answer holds only counting detections
        threshold = f" (threshold {float(d['threshold']):.2f})" if "threshold" in d else ""
        lines.append(
            f" {mark} {d.get('name')} ({d.get('role')}) {float(d['confidence']):.2f}{threshold} at "
            f"left={box['left']:.0f} top={box['top']:.0f} {box['width']:.0f}x{box['height']:.0f}"
        )
    for b in answer.get("barcodes", [])[:10]:
        state = (
            "registered" + (f" for {b['class']}" if b.get("class") else "") if b.get("registered") else "not registered"
        )
        if not b.get("gtin") or not b.get("check_digit_ok"):
            state = "no GTIN" if not b.get("gtin") else "check digit fails"
        lines.append(
            f"   barcode {b.get('format')} {b.get('text')}: {state}{'' if b.get('confirmed') else ' (read once)'}"
        )
    if args.annotate:
        flows.annotate(args.photo, answer, args.annotate)
        lines.append(f"annotated copy: {args.annotate}")
    return _print(args, answer, "\n".join(lines))


def _cmd_models(client: Any, args: argparse.Namespace) -> int:
    overview = client.models(args.brand)
    live = overview.get("live") or {}
    lines = [f"brand {args.brand}: live version {live.get('version', 'none')} ({live.get('reason', '-')})"]
    for v in overview["versions"]:
        gate = v.get("gate", {})
        lines.append(
            f"  {'*' if v['live'] else ' '} v{v['version']}  mAP50 {v.get('metrics', {}).get('map50', 0):.3f}  "
            f"gate {'passed' if gate.get('passed') else 'failed'}  job {v.get('job_name')}"
        )
    return _print(args, overview, "\n".join(lines))


def _cmd_promote(client: Any, args: argparse.Namespace) -> int:
    overview = client.promote(args.brand, args.version, force=args.force, reason=args.reason)
    return _print(args, overview, f"brand {args.brand}: version {overview['live']['version']} is live")


def _cmd_policy(client: Any, args: argparse.Namespace) -> int:
    if args.barcode and not args.set:
        policy = client.put_policy(args.brand, barcode=args.barcode)
        return _print(args, policy, f"brand {args.brand}: barcodes are {policy.get('barcode')}")
    if args.set:
        classes: dict[str, dict[str, Any]] = {}
        for item in args.set:
            name, sep, spec = item.partition(":")
            if not sep or not name:
                raise CliError(f"--set {item!r}: expected CLASS:role=R,threshold=T")
            entry: dict[str, Any] = {}
            for part in spec.split(","):
                key, eq, value = part.partition("=")
                if key == "role" and eq:
                    entry["role"] = value
                elif key == "threshold" and eq:
                    try:
                        entry["threshold"] = float(value)
                    except ValueError:
                        raise CliError(f"--set {item!r}: threshold {value!r} is not a number") from None
                else:
                    raise CliError(f"--set {item!r}: unknown setting {part!r} (role=..., threshold=...)")
            classes[name] = entry
        policy = client.put_policy(args.brand, classes, barcode=args.barcode)
    else:
        policy = client.policy(args.brand)
    lines = [f"brand {args.brand} (live version {policy.get('live_version')}, barcodes {policy.get('barcode')}):"]
    lines += [
        f"  {c['name']}: {c['role']}, threshold {c['threshold']:.2f} (from the {c['source']})"
        for c in policy.get("effective", [])
    ] or ["  no live model yet; stored overrides: " + json.dumps(policy.get("classes", {}))]
    return _print(args, policy, "\n".join(lines))


def _cmd_gtins(client: Any, args: argparse.Namespace) -> int:
    from authentic.cli import gtins  # noqa: PLC0415
    from authentic.cli.client import ApiError  # noqa: PLC0415

    try:
        added = [gtins.parse_add(spec) for spec in args.add]
        from_file = gtins.read_file(args.file) if args.file else None
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc
    if from_file is None and not added and not args.remove:
        listing = client.gtins(args.brand)
    else:
        current = [] if from_file is not None else client.gtins(args.brand)["gtins"]
        sources = gtins.merged(current, [*(from_file or []), *added], args.remove)
        try:
            listing = client.put_gtins(args.brand, [s.entry for s in sources])
        except ApiError as exc:
            details = exc.body.get("details") if isinstance(exc.body, dict) else None
            if exc.status != 422 or not isinstance(details, dict):
                raise
            print(f"error: {exc}", file=sys.stderr)
            print(gtins.refusal_text(details.get("problems", []), sources), file=sys.stderr)
            return 1
    lines = [f"brand {args.brand}: {listing['count']} registered GTIN(s)"]
    if "added" in listing:
        lines[0] += f" ({listing['added']} added, {listing['changed']} changed, {listing['removed']} removed)"
    lines += [f"  {g['gtin']}  {g.get('class') or '-'}" for g in listing["gtins"][:50]]
    if listing["count"] > 50:
        lines.append(f"  ... and {listing['count'] - 50} more (--json for all)")
    return _print(args, listing, "\n".join(lines))


_COMMANDS = {
    "import": _cmd_import,
    "uploads": _cmd_uploads,
    "train": _cmd_train,
    "job": _cmd_job,
    "verify": _cmd_verify,
    "models": _cmd_models,
    "promote": _cmd_promote,
    "policy": _cmd_policy,
    "gtins": _cmd_gtins,
}


if __name__ == "__main__":
    raise SystemExit(main())
