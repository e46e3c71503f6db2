"""Locust's distributed mode on this machine: `load.run(processes=2)` is a master and two forked workers,
and the master's CSVs add up what both workers sent. About 25 s against the running stack."""

from __future__ import annotations

from scalelab.kit import load, saturation


def test_two_locust_workers_share_the_users_and_the_master_counts_their_requests(running_stack):
    sampler = saturation.CpuSampler()
    # Readers only (baseline): every request is the same public feed, so any failure is the stack's.
    # Not shortened by CI's SCALELAB_RUN_SCALE: in 10 s the master's history showed no requests/s yet.
    with sampler.running():
        run = load.run("baseline", users=50, duration=20, processes=2, progress=False, shorten=False)
    summary = run.summary
    assert summary["loadgen_processes"] == 2
    assert summary["requests"] > 0 and summary["failures"] == 0
    history = run.history
    assert history.users.max() == 50  # the master's count, both workers together
    assert history.rps.max() > 0
    # The load generator's CPU was seen, from the master and its workers (children of this process).
    assert (sampler.samples.service == saturation.LOADGEN).any()
    assert not saturation.locust_children(), "a Locust process outlived its run"
