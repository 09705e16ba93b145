"""The command line shared by the learned-proximal-network benchmarks (bench_lpn_*.py)."""
from __future__ import annotations

import argparse
import pathlib


def parse(doc: str, argv, batch_size: int, add_arguments=None):
    """Parse ``--steps-scale --batch-size --seed --progress --checkpoints --out`` (and the script's
    own arguments, added by ``add_arguments(parser)``); create the output folders.

    Returns ``(args, out, checkpoints)``: ``out / "figures"`` receives the figures and tables,
    ``checkpoints`` the trained networks (``.npz``).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every phase's steps")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show a progress bar during training")
    parser.add_argument("--checkpoints", metavar="DIR", default="bench-out/checkpoints",
                        help="folder for the trained networks (.npz; default ./bench-out/checkpoints)")
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="output folder: figures and tables go to DIR/figures/ (default ./bench-out)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    out, checkpoints = pathlib.Path(args.out), pathlib.Path(args.checkpoints)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    return args, out, checkpoints
