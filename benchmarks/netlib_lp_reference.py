"""Optimal values of the feasible Netlib LPs by HiGHS: the reference of ``mathopt bench --suite netlib-lp``.

Writes ``mathopt/bench/reference/netlib_lp_optima.json`` (``{name: {"objective": f*, "status": ...,
"n": ..., "m": ...}}``, objective of the problem as read by :func:`mathopt.problems.lp.read_mps`,
i.e. including the MPS objective offset). Run from the repository root::

    python benchmarks/netlib_lp_reference.py [--data-dir ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "mathopt" / "bench" / "reference" / "netlib_lp_optima.json"


def main(argv=None):
    import highspy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args(argv)
    folder = pathlib.Path(args.data_dir) / "netlib-lp"
    if not folder.is_dir():
        sys.exit(f"no folder {folder}")
    table = {}
    for path in sorted(folder.glob("*.mps.gz")):
        name = path.name[: -len(".mps.gz")]
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.readModel(str(path))
        start = time.perf_counter()
        highs.run()
        status = highs.modelStatusToString(highs.getModelStatus())
        info = highs.getInfo()
        lp = highs.getLp()
        table[name] = {"objective": float(info.objective_function_value), "status": status,
                       "n": int(lp.num_col_), "m": int(lp.num_row_), "highs_seconds": round(time.perf_counter() - start, 3),
                       "highs_version": highspy.Highs().version()}
        print(f"{name:10s} {status:10s} {table[name]['objective']:.12g}", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
