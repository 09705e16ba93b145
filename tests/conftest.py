"""Shared test settings: small problems, compiled functions reused across tests."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
