"""``python -m symgrad.codegen``: derive, check and render every op into generated/,
and the op reference into docs/ops.md.

Nothing is written unless every rule of every op passed its checks; files whose text is
unchanged are not touched. ``--check`` writes nothing and fails if any output is stale.
"""

import argparse
import sys
import time
from pathlib import Path

from symgrad.codegen.generate import DOCS, GENERATED, generate_docs, generate_sources
from symgrad.codegen.verify.policy import CheckError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m symgrad.codegen", description=__doc__)
    parser.add_argument("--out", type=Path, default=GENERATED, help="output folder")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the op reference's folder")
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        sources = generate_sources()
    except CheckError as error:
        print(f"symgrad generate: check failed, nothing written: {error}", file=sys.stderr)
        return 1
    outputs = {args.out / name: text for name, text in sources.items()}
    outputs.update({args.docs / name: text for name, text in generate_docs(sources).items()})
    stale = [path for path, text in outputs.items() if _read(path) != text]
    if args.check:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(outputs[path])
    elapsed = time.perf_counter() - start
    print(f"symgrad generate: {len(outputs)} files, {len(stale)} changed, {elapsed:.1f} s")
    return 0


def _read(path):
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
