"""What every lab's check does alike, through the runner that `scalelab check` uses: it makes sure the
app answers before the check runs, so that no check grades a stack that is down."""

from __future__ import annotations

import pytest

from scalelab.course import catalogue
from scalelab.course.checks import runner
from scalelab.errors import StackNotRunning

CHECKED = [lab for lab in catalogue.all_labs() if lab.available]


@pytest.mark.parametrize("lab", CHECKED, ids=lambda lab: f"lab{lab.alias}")
def test_the_check_says_the_stack_is_down_when_nothing_answers(lab, stack_down_settings):
    with pytest.raises(StackNotRunning) as raised:
        runner.run(lab, stack_down_settings)
    assert str(raised.value) == f"the lab stack is not running (nothing answers {stack_down_settings.app_url}): run `make up`"
