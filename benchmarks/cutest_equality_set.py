"""The equality-constrained CUTEst problems with n <= 1000 (issue 16 §3): screen, build, list.

"Equality-constrained" here means what ``al-sketch`` and ``al-newton`` take: equality
constraints only, no inequalities and no bounds on the variables (after pycutest removes fixed
variables), at the SIF file's default size. The screen has two stages:

1. Text: every SIF file in ``$MASTSIF`` whose GROUPS/ROWS/CONSTRAINTS section has ``E`` rows and
   no ``L``/``G`` rows or RANGES, and whose BOUNDS section frees every variable by default
   (``FR``/``XR ... 'DEFAULT'``; SIF's own default is x >= 0); bounds it then sets on some
   variables are found at the build stage. 242 of the 1,060 files of ``../shared/cutest`` pass
   (2026-12-02).
2. Build: each of them is decoded and compiled through pycutest (a few seconds each, cached in
   ``$PYCUTEST_CACHE``) and kept when ``n <= --max-n``, it has no inequalities, no bounds and at
   least one equality. 208 pass; the list is written to ``--out``
   (``benchmarks/data/cutest_equality_n1000.txt`` in the repository).

Then::

    source ~/.cache/cutest/cutest.env
    python benchmarks/cutest_equality_set.py --out benchmarks/data/cutest_equality_n1000.txt
    mathopt bench --suite cutest --problems $(cat benchmarks/data/cutest_equality_n1000.txt) \\
        --solvers al-sketch,al-newton,auglag,ipopt,scipy-slsqp,scipy-trust-constr \\
        --workers 2 --time-limit 30 --out bench-cutest-eq
"""
import argparse
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_EQUALITY = ("E", "XE", "ZE")
_INEQUALITY = ("L", "G", "XL", "XG", "ZL", "ZG")


def _sections(text: str) -> dict:
    """SIF section name -> its data lines (comments dropped)."""
    current, out = None, {}
    for line in text.splitlines():
        if not line or line.startswith("*"):
            continue
        if not line[0].isspace():
            words = line.split()
            current = words[0] if words else None
            if current in ("ELEMENT", "GROUP", "START", "OBJECT") and len(words) > 1:
                current = f"{current} {words[1]}"
            out.setdefault(current, [])
            continue
        out.setdefault(current, []).append(line)
    return out


def text_screen(path: pathlib.Path) -> bool:
    """Stage 1 for one SIF file (see the module docstring)."""
    sections = _sections(path.read_text(errors="ignore"))
    rows = sections.get("GROUPS", []) + sections.get("ROWS", []) + sections.get("CONSTRAINTS", [])
    codes = [line[1:3].strip() for line in rows if len(line) > 2]
    if not any(c in _EQUALITY for c in codes) or any(c in _INEQUALITY for c in codes) or "RANGES" in sections:
        return False
    bounds = sections.get("BOUNDS")
    if bounds is None:  # SIF's default: every variable >= 0
        return False
    codes = [line[1:3].strip() for line in bounds if len(line) > 2]
    free_default = any(c in ("FR", "XR") and "DEFAULT" in line.upper() for c, line in zip(codes, bounds))
    return free_default  # explicit bounds on some variables are found at the build stage


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1000)
    parser.add_argument("--out", default="cutest_equality_set.txt")
    parser.add_argument("--log", default=None, help="JSON lines with n, m and the build time of each candidate")
    args = parser.parse_args(argv)
    from mathopt.problems import cutest

    mastsif = pathlib.Path(os.environ["MASTSIF"])
    candidates = sorted(p.stem for p in mastsif.glob("*.SIF") if text_screen(p))
    print(f"{len(candidates)} SIF files pass the text screen", flush=True)
    kept, log = [], open(args.log, "w") if args.log else None
    for i, name in enumerate(candidates, 1):
        try:
            problem = cutest.load(name)
        except Exception as exc:  # noqa: BLE001 - a problem that does not build is reported and skipped
            print(f"  {name}: not built ({type(exc).__name__}: {exc})", flush=True)
            continue
        record = dict(name=name, n=problem.n, n_eq=problem.n_eq, n_ineq=problem.n_ineq, bounds=problem.has_bounds)
        if log:
            log.write(json.dumps(record) + "\n")
        if problem.n <= args.max_n and problem.n_eq > 0 and problem.n_ineq == 0 and not problem.has_bounds:
            kept.append(name)
        if i % 20 == 0:
            print(f"  {i}/{len(candidates)} built, {len(kept)} kept", flush=True)
    pathlib.Path(args.out).write_text(",".join(kept) + "\n")
    print(f"{len(kept)} problems written to {args.out}")


if __name__ == "__main__":
    main()
