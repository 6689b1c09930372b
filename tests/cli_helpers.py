"""What every CLI test of a user mistake checks."""


def one_line_error(capsys, *needles):
    """stderr is one line, has no traceback and contains every needle; returns it."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err
