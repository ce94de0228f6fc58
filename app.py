#!/usr/bin/env python3
"""The CDK app: `python app.py --outdir cdk.out` (what `make synth` runs) or `cdk synth` / `cdk deploy`.

Configuration is one typed object (`stacks.config.AppConfig`) built from CDK context: `cdk.json`'s context,
overridden by `-c key=value` on the CDK command line. cdk-nag's AwsSolutions pack runs on every synth; an
unacknowledged finding fails it, with the details in `<outdir>/validation-report.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.config import AppConfig, ConfigError, load_config
from stacks.service import ServiceStack
from stacks.stateful import StatefulStack

ROOT = Path(__file__).resolve().parent
DEFAULT_OUTDIR = "cdk.out"


def cdk_json_context(root: Path = ROOT) -> dict[str, Any]:
    """The context block of cdk.json (the CDK CLI passes it itself; a plain `python app.py` reads it here)."""
    document = json.loads((root / "cdk.json").read_text(encoding="utf-8"))
    context: dict[str, Any] = document.get("context", {})
    return context


def build_app(
    *, outdir: str | None = None, context: Mapping[str, Any] | None = None, nag: bool = True
) -> tuple[cdk.App, StatefulStack, ServiceStack]:
    """The app with both stacks. `context` is added over cdk.json's; the CLI's context (if any) wins over both."""
    app = cdk.App(outdir=outdir, context={**cdk_json_context(), **(context or {})})
    config: AppConfig = load_config(app.node.get_all_context())
    name = config.job_prefix.capitalize()
    stateful = StatefulStack(
        app,
        f"{name}Stateful",
        config=config,
        description="Counterfeit detection: buckets, table and upload queue (retained data)",
        termination_protection=True,
    )
    service = ServiceStack(
        app,
        f"{name}Service",
        config=config,
        stateful=stateful,
        description="Counterfeit detection: API, functions, training orchestration and multi-model endpoint",
    )
    cdk.Tags.of(app).add("project", "authentic")
    cdk.Tags.of(app).add("deployment", config.job_prefix)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stateful, service


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--outdir",
        default=os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR,
        help="cloud assembly directory (default: the CDK CLI's, else cdk.out)",
    )
    args = parser.parse_args(argv)
    try:
        app, _, _ = build_app(outdir=args.outdir)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
