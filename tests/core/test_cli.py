from mathopt.cli import main


def test_solvers_table(capsys):
    assert main(["solvers"]) == 0
    out = capsys.readouterr().out
    assert "scipy-slsqp" in out and "scipy-trust-constr" in out and "method" in out


def test_show_options(capsys):
    assert main(["show-options", "scipy-trust-constr"]) == 0
    assert "gtol :" in capsys.readouterr().out
    assert main(["show-options", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
