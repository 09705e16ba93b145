"""Benchmark runner: solvers x problems in isolated worker processes, with reports.

``mathopt bench`` (see :mod:`mathopt.bench.cli`) and the library functions
:func:`run_benchmark` (run), :func:`write_report` (CSV, JSON, Markdown
summary, performance-profile PNG) and :func:`performance_profile`
(Dolan-More profile).
"""
from .profile import performance_profile
from .report import SOLVED_CRITERION, is_solved, summary_table, write_report
from .runner import RunTask, run_benchmark

__all__ = ["run_benchmark", "RunTask", "write_report", "summary_table", "performance_profile", "is_solved",
           "SOLVED_CRITERION"]
