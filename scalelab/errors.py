"""The one error type the command line turns into a clean one-line message (and exit code)."""


class LabError(Exception):
    """A problem the user can fix. The message is one line that names the fix."""

    exit_code = 1

    def _render_traceback_(self) -> list[str]:
        # IPython (JupyterLab) calls this instead of printing a traceback: a notebook cell shows
        # the one line, as the command line does.
        return [f"{type(self).__name__}: {self}"]


class StackNotRunning(LabError):
    """The stack (or the part of it a command needs) is not up."""

    exit_code = 2
