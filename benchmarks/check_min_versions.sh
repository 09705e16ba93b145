#!/usr/bin/env bash
# Check that the dependency floors of pyproject.toml are true: install the LOWEST allowed version
# of every runtime dependency in a fresh virtual environment and run one tiny solve per
# registered solver (benchmarks/smoke_per_family.py).
#
# Usage (from anywhere; downloads wheels from PyPI):
#     benchmarks/check_min_versions.sh [--keep] [smoke_per_family.py options, e.g. --family metric]
#
# Environment:
#     PYTHON  interpreter for the venv (default python3.11: the oldest Python that
#             requires-python allows; the floors must install as binary wheels there)
#     VENV    where to create the venv (default: a new temporary folder, removed at the end
#             unless --keep is given)
#
# Steps:
#   1. read [project].dependencies of pyproject.toml and turn every "name>=v" into "name==v"
#      (a dependency without a ">=" floor is an error: every dependency must have one);
#   2. pip install those pins together (binary wheels only, so an old version that has no wheel
#      for this Python fails here instead of compiling for an hour); pip resolves the
#      dependencies of the dependencies to whatever versions it picks, as a user's install would;
#   3. pip install mathopt itself with --no-deps (a wheel built from the working tree), so
#      nothing can upgrade the pins, and `pip check` the result;
#   4. run benchmarks/smoke_per_family.py from outside the source tree (it imports the installed
#      mathopt) and exit with its status: 0 when every solver of every family ran.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
KEEP=0
if [[ "${1:-}" == "--keep" ]]; then KEEP=1; shift; fi
if [[ -z "${VENV:-}" ]]; then
    TMP=$(mktemp -d)
    VENV=$TMP/venv
    if [[ $KEEP == 0 ]]; then trap 'rm -rf "$TMP"' EXIT; fi
fi

"$PYTHON" -m venv "$VENV"
PY=$VENV/bin/python
"$PY" -m pip install --quiet --upgrade pip

PINS=$("$PY" - "$ROOT/pyproject.toml" <<'PYEOF'
import re, sys, tomllib

with open(sys.argv[1], "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
for dep in deps:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)\s*(,.*)?", dep)
    if not match:
        sys.exit(f"dependency without a '>=' floor: {dep!r}")
    print(f"{match.group(1)}=={match.group(2)}")
PYEOF
)
echo "== floors from pyproject.toml:" $PINS
"$PY" -m pip install --quiet --only-binary :all: $PINS
"$PY" -m pip install --quiet --no-deps "$ROOT"
"$PY" -m pip check
echo "== installed:"
"$PY" -m pip freeze | grep -iE '^(numpy|scipy|cvxpy|numba|llvmlite|pot|jax|jaxlib|jaxopt|ml.dtypes|clarabel|osqp|scs|ecos)=='

cd "$(mktemp -d)"  # import the installed mathopt, not the source tree
export NUMBA_CACHE_DIR=$PWD/numba_cache
"$PY" "$ROOT/benchmarks/smoke_per_family.py" "$@"
