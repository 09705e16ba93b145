"""Solvers for smooth constrained nonlinear programs (:class:`mathopt.NLP`)."""
