import numpy as np

import mathopt
from mathopt.problems import hs


def test_hs28_slsqp_reaches_known_optimum():
    result = mathopt.solve(hs.load("HS28"), method="scipy-slsqp")
    assert result.success
    np.testing.assert_allclose(result.x, [0.5, -0.5, 0.5], atol=1e-6)
