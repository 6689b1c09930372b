"""Every command checks its output path before it starts working (one line, exit 1)."""

from __future__ import annotations

import pytest

from lhcgen.cli import main
from tests.cli_helpers import one_line_error


@pytest.mark.parametrize("argv, needle", [
    (["data", "zjets", "--events", "10", "--out", "/proc/x.h5"], "cannot write in /proc"),
    (["data", "jets", "--type", "t", "--jets", "10", "--out", "/proc/x.h5"],
     "cannot write in /proc"),
    (["data", "zjets", "--events", "10", "--out", "{tmp}"], "is a directory"),
    (["sample", "{tmp}", "-n", "10", "--out", "{tmp}"], "is a directory"),
    (["evaluate", "g.h5", "--truth", "t.h5", "--report", "{file}"], "is an existing file"),
    (["classify", "g.h5", "--truth", "t.h5", "--report", "{file}/sub"], "is a file, not"),
    (["train", "c.yaml", "--out", "{file}"], "is an existing file"),
    (["classify", "g.h5", "--truth", "t.h5", "--report", "{tmp}/r", "--write-weights", "{tmp}"],
     "--write-weights"),
    (["metrics", "jets", "g.h5", "--truth", "t.h5", "--json", "{tmp}", "--no-progress"],
     "is a directory"),
])
def test_output_path_is_checked_first(tmp_path, capsys, argv, needle):
    afile = tmp_path / "a_file"
    afile.write_text("x")
    argv = [a.format(tmp=tmp_path, file=afile) for a in argv]
    assert main(argv) == 1
    one_line_error(capsys, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
