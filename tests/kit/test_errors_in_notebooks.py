"""In a notebook, a LabError is one line, as on the command line: no traceback to scroll through."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output


def test_a_lab_error_in_a_notebook_cell_shows_one_line():
    shell = InteractiveShell.instance()
    with capture_output() as captured:
        shell.run_cell(
            "from scalelab.errors import StackNotRunning\n"
            "raise StackNotRunning('the lab stack is not running: run `make up`')"
        )
    shown = (captured.stdout + captured.stderr).strip()
    assert shown == "StackNotRunning: the lab stack is not running: run `make up`"
