"""`make bench`: run every benchmark in turn; each prints its figures and, last, one JSON line.

Run one alone with `python -m bench.<name>`; pass names to run a subset: `python -m bench ingest verify`.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ("ingest", "train", "verify", "mme", "shopper", "freeze", "barcodes")


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    sys.argv[1:] = []  # each benchmark reads its own options from the command line: here it runs with none
    for name in names:
        print(f"=== bench.{name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        code = int(module.main())
        print(f"=== bench.{name}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
