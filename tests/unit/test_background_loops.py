"""Every background loop is configured by its caller (worker.py); none reads settings itself."""

from ombuds.settings import Settings
from ombuds.worker import for_serve, for_worker


def settings(**overrides) -> Settings:
    return Settings(database_url="sqlite:///unused.db", policy_file=None, **overrides)


def test_serve_with_the_wall_clock_sweeps_and_dispatches_in_process():
    loops = for_serve(settings(clock="wall"))
    assert loops.sweep and loops.dispatch is not None


def test_serve_with_a_manual_clock_only_dispatches_so_deadlines_wait_for_an_advance():
    loops = for_serve(settings(clock="manual"))
    assert not loops.sweep and loops.dispatch is not None


def test_serve_without_the_in_process_worker_runs_no_loop():
    assert for_serve(settings(worker_in_process=False)) is None


def test_a_worker_process_sweeps_and_dispatches_with_either_clock():
    for clock in ("wall", "manual"):
        loops = for_worker(settings(clock=clock), interval=0.5, safety_interval=10)
        assert loops.sweep and loops.dispatch is not None
        assert (loops.poll_interval, loops.safety_interval) == (0.5, 10)


def test_the_loops_take_their_timing_and_delivery_settings_from_their_caller():
    loops = for_worker(settings(sweep_interval_seconds=2.5, wakeup_safety_seconds=45, wakeups=False,
                                dispatch_batch=7, smtp_host="smtp.example"))
    assert (loops.poll_interval, loops.safety_interval, loops.wakeups) == (2.5, 45, False)
    assert loops.dispatch.batch == 7 and loops.dispatch.smtp.host == "smtp.example"
