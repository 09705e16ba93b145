"""A module imported on first use, so that loading the registry stays cheap.

``sp = lazy_module("scipy.sparse")`` at the top of a solver module reads like
``import scipy.sparse as sp``, but SciPy's sparse package (about 0.2 s) is
imported only when a solver first touches ``sp.<name>``.
"""
from __future__ import annotations

import importlib


class _LazyModule:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        # called only for names not in the instance dict: keep the module there after the first
        # import, so a solver's hot loop pays one dict lookup, not importlib's lock, per access
        module = self.__dict__.get("_module")
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> _LazyModule:
    """The module ``name``, imported when one of its attributes is first read."""
    return _LazyModule(name)
