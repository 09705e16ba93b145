import pathlib

import pytest

DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_file(folder, name):
    """Path of a file of ../shared/data, or skip the test with the reason."""
    path = DATA / folder / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared test-problem collections, see ../shared/data/README.md)")
    return path


@pytest.fixture
def needs_highs():
    pytest.importorskip("highspy", reason="highspy (HiGHS) is not installed: pip install highspy")
