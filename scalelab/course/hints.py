"""`scalelab hint`: a lab's hints from the catalogue (labs/labs.toml), one level at a time, each
ending with how to get the next; the last one says how to see the solution."""

from __future__ import annotations

import textwrap

from scalelab.course.catalogue import Lab, builds_on
from scalelab.errors import LabError


def hint(lab: Lab, level: int = 1, last_reasons: tuple[str, ...] = ()) -> str:
    """The hint at `level` (1 = a nudge), with how many levels there are and how to get the next.
    last_reasons: why the learner's latest check of the lab failed, from its own measurements; the
    hint starts from them, and the course's text follows."""
    count = len(lab.hints)
    if not count:
        raise LabError(f"lab {lab.id} has no hints yet: add them to labs/labs.toml")
    if not 1 <= level <= count:
        levels = [str(n) for n in range(1, count + 1)]
        choices = levels[0] if count == 1 else f"{', '.join(levels[:-1])} or {levels[-1]}"
        raise LabError(f"lab {lab.id} has no hint at level {level}: choose --level {choices}")
    text = "\n\n".join(textwrap.fill(part, width=100) for part in lab.hints[level - 1].split("\n\n"))
    if level < count:
        after = f"The next hint: `scalelab hint {lab.alias} --level {level + 1}`."
    elif lab.modules:
        after = f"That was the last hint. `scalelab solve {lab.alias}` applies the solution."
    else:
        after = f"That was the last hint. The lab's README (labs/{lab.id}/README.md) walks you through it."
    seen = ""
    if last_reasons:
        listed = "\n".join(textwrap.fill(reason, width=100, initial_indent="  - ", subsequent_indent="    ") for reason in last_reasons)
        seen = f"Your last check of this lab failed on what it measured:\n{listed}\nStart there. The hint:\n\n"
    return f"Lab {lab.alias}, {lab.title}: hint {level} of {count}\n{builds_on(lab)}\n\n{seen}{text}\n\n{after}"
