"""Core types of mathopt: problems, results, statuses, options, registry and driver."""
