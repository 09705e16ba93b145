"""``python -m mathopt.bench._run_one TASK RECORD``: one benchmark run in a fresh interpreter
(the isolation :func:`mathopt.bench.runner.execute` uses inside daemonic worker processes)."""
import sys

from mathopt.bench.runner import _subprocess_main

if __name__ == "__main__":
    _subprocess_main(sys.argv[1], sys.argv[2])
