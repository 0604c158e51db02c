"""``python -m symgrad.codegen``: derive, check and render every op into generated/.

Nothing is written unless every rule of every op passed its checks; files whose text is
unchanged are not touched. ``--check`` writes nothing and fails if generated/ is stale.
"""

import argparse
import sys
import time
from pathlib import Path

from symgrad.codegen.generate import GENERATED, generate_sources
from symgrad.codegen.verify.policy import CheckError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m symgrad.codegen", description=__doc__)
    parser.add_argument("--out", type=Path, default=GENERATED, help="output folder")
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        sources = generate_sources()
    except CheckError as error:
        print(f"symgrad generate: check failed, nothing written: {error}", file=sys.stderr)
        return 1
    stale = [name for name, text in sources.items() if _read(args.out / name) != text]
    if args.check:
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.out / name).write_text(sources[name])
    elapsed = time.perf_counter() - start
    print(f"symgrad generate: {len(sources)} files, {len(stale)} changed, {elapsed:.1f} s")
    return 0


def _read(path):
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
