"""`python -m assistant.demo --out DIR [--force] [--model ID ...]`: build the demo model folders."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from assistant.demo import MODEL_IDS, build_demo
from assistant.errors import AssistantError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.demo",
        description="Build the demo model folders (model.yaml, model.joblib, records.csv, reference.csv).",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to hold one sub-folder per model")
    parser.add_argument("--force", action="store_true", help="refit and rewrite even up-to-date folders")
    parser.add_argument("--model", action="append", choices=MODEL_IDS, help="build only this model (repeatable)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        results = build_demo(args.out, force=args.force, only=args.model)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(result.summary())
    built = sum(r.built for r in results)
    print(f"{built} built, {len(results) - built} up to date, in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
