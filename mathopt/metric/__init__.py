"""Metric-constrained problems: metric nearness, correlation clustering, metric learning.

Solved by Project and Forget (Sonthalia & Gilbert, JMLR 2022); see
:mod:`mathopt.metric.project_and_forget`.
"""

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES = ["project_and_forget"]
