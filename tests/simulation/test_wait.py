"""The loop waits for many slow jobs as long as they keep finishing, and gives up on a stall."""
from __future__ import annotations

import itertools

import pytest

from simulation.loop import _wait_progress


def test_jobs_that_keep_finishing_are_waited_for_however_long_in_all():
    finished = itertools.count()
    _wait_progress(lambda: next(finished), 40, stall_s=60.0, what="jobs", poll_s=0.0)


def test_a_stall_fails_and_says_how_far_it_got():
    with pytest.raises(TimeoutError, match=r"no progress for 0s waiting for jobs \(3 of 5 done\)"):
        _wait_progress(lambda: 3, 5, stall_s=0.01, what="jobs", poll_s=0.005)
