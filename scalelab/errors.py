"""The one error type the command line turns into a clean one-line message (and exit code)."""


class LabError(Exception):
    """A problem the user can fix. The message is one line that names the fix."""

    exit_code = 1


class StackNotRunning(LabError):
    """The stack (or the part of it a command needs) is not up."""

    exit_code = 2
