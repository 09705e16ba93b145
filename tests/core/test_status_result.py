import numpy as np
import pytest

from mathopt import Result, SolverError, Status


def test_every_status_has_a_distinct_message():
    messages = [s.message for s in Status]
    assert all(isinstance(m, str) and len(m) > 10 for m in messages)
    assert len(set(messages)) == len(Status)
    assert [s for s in Status if s.success] == [Status.CONVERGED]


def test_result_normalizes_fields_and_fills_message():
    r = Result(x=3, fun=np.float32(1.5), status=2)
    assert r.x.shape == (1,) and r.x.dtype == np.float64
    assert isinstance(r.fun, float) and r.status is Status.MAX_ITER
    assert r.message == Status.MAX_ITER.message and r.success is False
    assert r.history is None and dict(r.extra) == {} and dict(r.residuals) == {}


def test_raise_for_status():
    ok = Result(x=[1.0], fun=0.0, status=Status.CONVERGED)
    assert ok.raise_for_status() is ok
    bad = Result(x=[1.0], fun=0.0, status=Status.NONFINITE, solver="s")
    with pytest.raises(SolverError, match="s: NONFINITE") as info:
        bad.raise_for_status()
    assert info.value.result is bad


def test_replace_recomputes_success_and_result_is_frozen():
    r = Result(x=[1.0], fun=0.0, status=Status.MAX_ITER)
    r2 = r.replace(status=Status.CONVERGED, message="")
    assert r2.success and not r.success
    with pytest.raises(Exception):
        r.fun = 3.0  # frozen
    assert "MAX_ITER" in repr(r)
