"""Generate the benchmark county (1,000,000 residents by default) into bench/data/.

    .venv/bin/python bench/generate.py [--residents N] [--seed S] [--no-xlsx] [--out DIR]

bench/data/ is git-ignored. Writes divisions.csv, residents.csv, residents.xlsx, the rosters and
county.json (what was generated and how long it took).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from canbao.demo.synthetic import generate_county

DATA = Path(__file__).resolve().parent / "data"


def mib(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the synthetic benchmark county (1,000,000 residents by default)"
    )
    parser.add_argument("--residents", type=int, default=1_000_000, help="number of residents")
    parser.add_argument(
        "--seed", type=int, default=2025, help="random seed (the same seed gives the same files)"
    )
    parser.add_argument(
        "--out", type=Path, default=DATA, help="output directory (default bench/data)"
    )
    parser.add_argument("--no-xlsx", action="store_true", help="do not write residents.xlsx")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    county = generate_county(
        residents=args.residents, seed=args.seed, out_dir=args.out, xlsx=not args.no_xlsx
    )
    seconds = time.perf_counter() - started

    files = [county.divisions_csv, county.residents_csv, *(r.path for r in county.rosters)]
    if county.residents_xlsx is not None:
        files.append(county.residents_xlsx)
    for line in county.summary(max_faults=0):  # the injected errors are in county.json
        print(line)
    print(f"generated in {seconds:.1f} s")
    for path in files:
        print(f"  {path.name}: {mib(path)}")
    manifest = {
        "residents": county.residents,
        "households": county.households,
        "townships": county.townships,
        "villages": county.villages,
        "seed": county.seed,
        "xlsx": county.residents_xlsx is not None,
        "seconds": round(seconds, 1),
        "files": {path.name: path.stat().st_size for path in files},
        "faults": [
            {"kind": f.kind, "category": f.category, "row": f.row, "id_number": f.id_number}
            for f in county.faults
        ],
    }
    (args.out / "county.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
