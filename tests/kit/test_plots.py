"""The notebook plots render with the Agg backend and carry the lines and labels a reader needs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is first used: no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from scalelab.kit import plots  # noqa: E402


@pytest.fixture
def save(tmp_path):
    """Render a figure to PNG and return the file."""

    def render(figure, name):
        # A figure left open in pyplot would be drawn a second time at the end of a Jupyter cell.
        assert plt.get_fignums() == []
        path = tmp_path / f"{name}.png"
        figure.savefig(path)
        assert path.stat().st_size > 10_000
        return path

    return render


def labels(axes) -> list[str]:
    return axes.get_legend_handles_labels()[1]


def test_over_users(ramp, save):
    figure = plots.over_users(ramp, knee=500)
    latency, errors, throughput = figure.axes
    assert labels(latency) == ["p50", "p95", "p99", "knee: 500 users"]
    assert latency.get_yscale() == "log"
    assert errors.get_ylabel() == "errors" and throughput.get_ylabel() == "requests/s"
    assert throughput.get_xlabel() == "users"
    assert list(throughput.lines[0].get_xdata()) == list(range(100, 1001, 100))
    save(figure, "over_users")


def test_wall_marks_the_objective_and_the_computed_knee(ramp, save):
    figure = plots.wall(ramp)
    latency, errors = figure.axes
    assert labels(latency) == ["p95 latency", "objective: p95 < 300 ms", "knee: 500 users", "past the knee"]
    assert labels(errors) == ["errors", "objective: errors < 1%"]
    assert "500 users" in figure._suptitle.get_text()
    save(figure, "wall")


@pytest.mark.parametrize(("x", "xlabel"), [("users", "users"), ("time", "seconds since the run began")])
def test_before_after_overlays_both_runs(make_ramp, save, x, xlabel):
    broken = make_ramp(p95_ms=lambda users: 60 if users < 400 else 30_000)
    fixed = make_ramp(p95_ms=lambda users: 40, error_rate=lambda users: 0)
    figure = plots.before_after(broken, fixed, x=x)
    latency, errors = figure.axes
    assert labels(latency) == ["broken: p95", "fixed: p95", "objective: p95 < 300 ms"]
    assert labels(errors) == ["broken: errors", "fixed: errors"]
    assert errors.get_xlabel() == xlabel
    save(figure, f"before_after_{x}")


def test_before_after_shows_the_second_runs_errors_even_when_the_first_had_none(ramp, make_ramp, save):
    calm = make_ramp(error_rate=lambda users: 0.0)
    figure = plots.before_after(calm, ramp)
    errors = figure.axes[1]
    highest = max(line.get_ydata().max() for line in errors.get_lines())
    assert highest > 0.2  # the ramp's errors reach 35% at 1,000 users
    assert errors.get_ylim()[0] == 0 and errors.get_ylim()[1] >= highest
    save(figure, "before_after_errors")
