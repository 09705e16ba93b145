"""Options shared by the QP solvers: termination tolerances, scaling, Halpern restarts, Anderson acceleration."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.options import CommonOptions, check_bool, check_choice, check_fraction, check_int, check_positive

TOLERANCES = ("feasibility_tol", "stationarity_tol", "gap_tol", "rel_tol", "infeasibility_tol")


@dataclass(frozen=True)
class QPOptions(CommonOptions):
    """Termination tests of the QP solvers.

    Parameters
    ----------
    feasibility_tol : float, default 1e-06
        Absolute tolerance on ``residuals["feasibility"]`` = ``||Ax - z||_inf``, z in [l, u].
    stationarity_tol : float, default 1e-06
        Absolute tolerance on ``residuals["stationarity"]`` = ``||Px + q + A'y||_inf``.
    gap_tol : float, default 1e-06
        Absolute tolerance on ``residuals["gap"]`` = ``|x'Px + q'x + u'y_+ + l'y_-|``.
    rel_tol : float, default 1e-06
        Relative tolerance: residual R passes when ``R <= R_tol + rel_tol * scale_R``
        (OSQP's scales, see :mod:`mathopt.feasibility.admm_operator`).
    infeasibility_tol : float, default 1e-05
        Tolerance of the primal and dual infeasibility tests on the normalized differences.
    scaling : int, default 10
        Ruiz equilibration passes (0: no scaling).
    check_interval : int, default 25
        Test termination every this many iterations.
    polish : bool, default True
        After convergence, polish the solution (OSQP's polishing: solve the KKT system of the
        guessed active constraints, :func:`~mathopt.feasibility.admm_operator.polish_solution`) and
        keep it when its largest residual, relative to its tolerance, is lower;
        ``extra["polished"]`` says whether it was kept.
        The ADMM methods also try it during the run (:func:`~mathopt.feasibility.solver.early_solution`,
        at the certificate-polishing tests, on points within 1e3 of the tolerances) and end
        ``CONVERGED`` with a polished point that meets every tolerance.
    polish_interval : int, default 100
        Try certificate polishing (:func:`~mathopt.feasibility.admm_operator.polished_primal_certificate`)
        when the primal-infeasibility test fails, at the first test at or after each iteration
        ``polish_interval * 2^j``, j = 0, 1, ...; 0 never polishes.
    """

    feasibility_tol: float = 1e-6
    stationarity_tol: float = 1e-6
    gap_tol: float = 1e-6
    rel_tol: float = 1e-6
    infeasibility_tol: float = 1e-5
    scaling: int = 10
    check_interval: int = 25
    polish: bool = True
    polish_interval: int = 100

    def __post_init__(self):
        super().__post_init__()
        for name in TOLERANCES:
            check_positive(self, name, strict=False, allow_inf=False)
        check_int(self, "scaling", minimum=0)
        check_int(self, "check_interval", minimum=1)
        check_int(self, "polish_interval", minimum=0)
        check_bool(self, "polish")

    def residual_tolerances(self) -> dict:
        """Absolute tolerance of each residual, by residual name."""
        return {"feasibility": self.feasibility_tol, "stationarity": self.stationarity_tol, "gap": self.gap_tol}


@dataclass(frozen=True)
class RestartOptions(CommonOptions):
    """Restarts of the Halpern anchor.

    Parameters
    ----------
    restart_decay : float, default 0.2
        Move the anchor to the current iterate when the fixed-point residual is at most
        this fraction of its value at the anchor; 0 never restarts on this test.
    restart_fraction : float, default 0.2
        Also restart when the iterations since the anchor reach this fraction of all
        iterations (an artificial restart, as in restarted Halpern PDHG); 0 never does.
    """

    restart_decay: float = 0.2
    restart_fraction: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        for name in ("restart_decay", "restart_fraction"):
            check_fraction(self, name)


#: Values of the option ``acceleration`` of ``admm-qp``.
ACCELERATIONS = ("none", "anderson")
#: Largest ||gamma||_2 of an Anderson step; larger weights are rejected (SCS 3's AA_MAX_WEIGHT_NORM).
ANDERSON_MAX_WEIGHT = 1e10


@dataclass(frozen=True)
class AndersonOptions(CommonOptions):
    """Safeguarded Anderson acceleration of the fixed-point iteration
    (:mod:`mathopt.feasibility._anderson_kernel`; Zhang, O'Donoghue & Boyd 2020; SCS 3).

    Parameters
    ----------
    acceleration : {"none", "anderson"}, default "none"
        ``"anderson"``: every ``anderson_interval`` iterations the next iterate is the Anderson point
        of the last ``anderson_memory`` steps instead of T(s_k); the next iteration keeps it only if
        its fixed-point residual is at most ``anderson_safeguard`` times that of s_k, else it goes
        back to T(s_k). The memory is emptied when rho (hence T) changes. Infeasibility is certified
        from plain iterations only: at the first infeasibility verdict of an accelerated run the
        acceleration is switched off for the rest of the run, the plain iteration starts again from
        s = 0 and the verdict is not taken; for the same reason the penalty freeze
        (``freeze_penalty``) does not act while the acceleration runs.
    anderson_memory : int, default 10
        Number of stored steps (SCS 3.3.1's ``acceleration_lookback``, 10).
    anderson_type : {1, 2}, default 2
        1: type-I (Zhang et al.'s AA-I, SCS 3's default): gamma solves (S'WY + r I) gamma = S'Wg;
        2: type-II: (Y'WY + r I) gamma = Y'Wg. Type II is the default here because type I's points
        were rejected by the safeguard at nearly every step on the Maros-Meszaros QPs ADMM fails on
        (docs/feasibility.md, "Anderson acceleration").
    anderson_interval : int, default 5
        Mix every this many iterations, the memory still taking every step (SCS 3.3.1's
        ``acceleration_interval``, 5; 1: every iteration, the paper's scheme, solved fewer of the
        hard Maros-Meszaros QPs, docs/feasibility.md).
    anderson_regularization : float, default 1e-10
        Tikhonov term r relative to ||S||_F ||Y||_F (type I) or ||Y||_F^2 (type II) (SCS's type-II
        value; SCS uses 1e-6 for type I).
    anderson_safeguard : float, default 1.0
        Accept an Anderson point when ||g(s_AA)||_W <= this times ||g(s_k)||_W (SCS's factor, 1).
    """

    acceleration: str = "none"
    anderson_memory: int = 10
    anderson_type: int = 2
    anderson_interval: int = 5
    anderson_regularization: float = 1e-10
    anderson_safeguard: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "acceleration", ACCELERATIONS)
        check_int(self, "anderson_memory", minimum=1)
        check_choice(self, "anderson_type", (1, 2))
        check_int(self, "anderson_interval", minimum=1)
        check_positive(self, "anderson_regularization", strict=False, allow_inf=False)
        check_positive(self, "anderson_safeguard", allow_inf=False)
