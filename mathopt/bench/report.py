"""Benchmark reports: per-run CSV/JSON, a Markdown summary and a performance-profile PNG.

Each run record (a dict; see :func:`mathopt.bench.run_benchmark`) has the
fields of :data:`FIELDS`. Stationarity and feasibility are recomputed at the
returned point by :func:`mathopt.constrained.kkt.evaluate_kkt` (least-squares
multipliers), the same way for every solver, rather than taken from the
solver's own report.

A run counts as **solved** (:func:`is_solved`, :data:`SOLVED_CRITERION`) when

* ``stationarity <= 1e-6`` and ``feasibility <= 1e-8`` at the returned point, and
* where the problem's optimal value ``f*`` is known, ``|f - f*| / max(1, |f*|) <= 1e-6``

(so a KKT point that is not the known global minimizer is not counted). The LP/QP suites
(``maros-meszaros``, ``netlib-lp``, ``netlib-infeas``) have their own criteria, residuals and
certificate check, :data:`mathopt.bench.qp.SOLVED_CRITERIA` (their records add ``gap`` and
``certified``, and ``feasibility``/``stationarity`` are the relative residuals of
:func:`mathopt.bench.qp.evaluate`). The
solver's own status is recorded but does not enter the criterion. Medians of
evaluations and time in the summary are over the solved runs of each solver.
Runs that could not take place (``UNSUPPORTED``: the solver does not handle the
problem's constraints; ``BUILD_FAILED``: the CUTEst problem could not be
built) are not counted as runs. ``build_time`` is the time the benchmark spent
building the run's CUTEst problem (0 when it was already in pycutest's cache,
nan for the builtin suite); it is not part of ``setup_time`` or ``wall_time``.
"""
from __future__ import annotations

import csv
import json
import math
import pathlib

import numpy as np

from .profile import plot_profile
from .qp import SOLVED_CRITERIA as QP_SOLVED_CRITERIA
from .qp import is_solved as qp_is_solved
from .runner import BUILD_FAILED, FAILURE_STATUSES

STATIONARITY_TOL = 1e-6
FEASIBILITY_TOL = 1e-8
OPTIMUM_RTOL = 1e-6
SOLVED_CRITERION = (f"stationarity <= {STATIONARITY_TOL:g} and feasibility <= {FEASIBILITY_TOL:g} at the returned "
                    f"point, and |f - f*| / max(1, |f*|) <= {OPTIMUM_RTOL:g} where the optimal value f* is known")
FIELDS = ("problem", "solver", "status", "success", "solved", "fun", "known_optimum", "rel_error", "stationarity",
          "feasibility", "gap", "certified", "nit", "nfev", "ngev", "nhev", "wall_time", "setup_time", "build_time", "error", "suite", "n",
          "n_eq", "n_ineq")


def relative_error(record: dict) -> float:
    """``|f - f*| / max(1, |f*|)``, nan when f* is unknown or f is not finite."""
    known, fun = record.get("known_optimum"), record.get("fun")
    if known is None or fun is None or not math.isfinite(fun):
        return math.nan
    return abs(fun - known) / max(1.0, abs(known))


def is_solved(record: dict) -> bool:
    """The solved criterion of :data:`SOLVED_CRITERION` (of :data:`mathopt.bench.qp.SOLVED_CRITERIA` for the LP/QP suites)."""
    if record.get("suite") in QP_SOLVED_CRITERIA:
        return qp_is_solved(record)
    stat, feas = record.get("stationarity", math.nan), record.get("feasibility", math.nan)
    if not (stat <= STATIONARITY_TOL and feas <= FEASIBILITY_TOL):
        return False
    rel = relative_error(record)
    return record.get("known_optimum") is None or rel <= OPTIMUM_RTOL


def complete(records: list[dict]) -> list[dict]:
    """Records with ``rel_error`` and ``solved`` filled in, fields in :data:`FIELDS` order."""
    out = []
    for r in records:
        full = dict(r, rel_error=relative_error(r), solved=is_solved(r))
        out.append({k: full.get(k) for k in FIELDS})
    return out


def _median(values) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def _fmt(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def summary_table(records: list[dict]) -> str:
    """Markdown: per solver, runs, solved count, failures and medians over solved runs."""
    records = complete(records)
    solvers = list(dict.fromkeys(r["solver"] for r in records))
    header = ("| solver | runs | solved | failures (error/timeout/crash) | median nit | median nfev | median ngev "
              "| median time [s] |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in solvers:
        runs = [r for r in records if r["solver"] == s and r["status"] not in ("UNSUPPORTED", BUILD_FAILED)]
        solved = [r for r in runs if r["solved"]]
        failures = sum(r["status"] in FAILURE_STATUSES for r in runs)
        lines.append(f"| {s} | {len(runs)} | {len(solved)} ({100.0 * len(solved) / max(len(runs), 1):.0f}%) | "
                     f"{failures} | {_fmt(_median(r['nit'] for r in solved))} | "
                     f"{_fmt(_median(r['nfev'] for r in solved))} | {_fmt(_median(r['ngev'] for r in solved))} | "
                     f"{_fmt(_median(r['wall_time'] for r in solved))} |")
    return "\n".join(lines)


def problem_table(records: list[dict]) -> str:
    """Markdown matrix problem x solver: "ok" when solved, else the status (and the objective reached)."""
    records = complete(records)
    solvers = list(dict.fromkeys(r["solver"] for r in records))
    problems = list(dict.fromkeys(r["problem"] for r in records))
    cell = {(r["problem"], r["solver"]): r for r in records}
    lines = ["| problem | f* | " + " | ".join(solvers) + " |", "|---|---:|" + "---|" * len(solvers)]
    for p in problems:
        known = next((cell[p, s]["known_optimum"] for s in solvers
                      if (p, s) in cell and cell[p, s]["known_optimum"] is not None), None)
        row = []
        for s in solvers:
            r = cell.get((p, s))
            if r is None:
                row.append("")
            elif r["solved"]:
                row.append(f"ok ({r['nit']} it)")
            else:
                row.append(f"{r['status']} (f={_fmt(r['fun'], 6)})")
        lines.append(f"| {p} | {_fmt(known, 8)} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def profile_costs(records: list[dict], metric: str = "wall_time") -> dict:
    """``{solver: cost per problem}`` for the performance profile (inf where not solved)."""
    records = complete(records)
    solvers = list(dict.fromkeys(r["solver"] for r in records))
    problems = list(dict.fromkeys(r["problem"] for r in records))
    cell = {(r["problem"], r["solver"]): r for r in records}
    costs = {}
    for s in solvers:
        values = []
        for p in problems:
            r = cell.get((p, s))
            values.append(float(r[metric]) if r is not None and r["solved"] else math.inf)
        costs[s] = np.array(values)
    return costs


def write_report(records: list[dict], out_dir, *, metric: str = "wall_time", command: str | None = None) -> dict:
    """Write ``runs.csv``, ``runs.json``, ``summary.md`` and ``profile.png`` into ``out_dir``.

    Returns ``{kind: path}`` of the files written (no ``"profile"`` entry when
    matplotlib is missing: the plot is then skipped with a warning).
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = complete(records)
    paths = {"csv": out / "runs.csv", "json": out / "runs.json", "summary": out / "summary.md"}
    with open(paths["csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with open(paths["json"], "w") as handle:
        json.dump([{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                   for r in rows], handle, indent=1)
    text = ["# mathopt benchmark summary", ""]
    if command:
        text += ["Command:", "", f"    {command}", ""]
    suites = list(dict.fromkeys(r["suite"] for r in rows))
    criterion = "; ".join(f"{suite}: {QP_SOLVED_CRITERIA[suite]}" if suite in QP_SOLVED_CRITERIA else SOLVED_CRITERION
                          for suite in suites) or SOLVED_CRITERION
    text += [f"Solved: {criterion}. Medians are over solved runs; time excludes process start, JAX "
             "compilation and the loading of compiled kernels (an untimed one-iteration warm-up solve; all "
             "recorded as `setup_time`).", "", summary_table(rows), "", "## Per problem", "",
             problem_table(rows), ""]
    failed = {r["problem"]: r["error"] for r in rows if r["status"] == BUILD_FAILED}
    if failed:
        text += ["## Problems that could not be built", ""]
        text += [f"* {name}: {error.splitlines()[0]}" for name, error in failed.items()] + [""]
    built = {r["problem"]: r["build_time"] for r in rows if r["build_time"] is not None
             and math.isfinite(r["build_time"]) and r["build_time"] > 0}
    if built:
        text += [f"CUTEst build time (not part of any run's time): {sum(built.values()):.1f} s summed over "
                 f"{len(built)} problem(s) built in this benchmark.", ""]
    paths["summary"].write_text("\n".join(text))
    png = out / "profile.png"
    label = {"wall_time": "wall time", "nfev": "function evaluations", "ngev": "gradient evaluations",
             "nit": "iterations"}.get(metric, metric)
    if plot_profile(profile_costs(rows, metric), png, xlabel=label):
        paths["profile"] = png
    return paths


def replace_marked_block(path, name: str, text: str) -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in a Markdown file.

    Lets a benchmark script refresh the tables of a hand-written document
    without touching the prose around them.
    """
    path = pathlib.Path(path)
    content = path.read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in content or end not in content:
        raise ValueError(f"{path} has no {begin} ... {end} block")
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text.strip()}\n{end}{tail}")
