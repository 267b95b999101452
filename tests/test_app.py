"""The classroom app without a browser: presets, the model it drives, its figures, its page and its command."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection

from bondsim import app
from bondsim.app import CONTROLS, PRESETS, ClassroomModel, model_params, preset_kwargs
from bondsim.params import FIELDS


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _run(model: ClassroomModel, steps: int) -> ClassroomModel:
    for _ in range(steps):
        model.step()
    return model


# ------------------------------------------------------------------ presets and controls


def test_controls_stay_inside_the_parameter_ranges():
    for name, spec in CONTROLS.items():
        if name == "seed":
            assert spec["min"] >= 0
            continue
        meta = FIELDS[name].metadata
        if spec["type"] == "Select":
            assert set(spec["values"]) <= set(meta["choices"])
        else:
            assert meta["low"] <= spec["min"] < spec["max"] <= meta["high"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_the_model_it_describes(name):
    preset = PRESETS[name]
    assert set(preset.settings) == set(CONTROLS), "a preset sets every control"
    model = ClassroomModel(**preset_kwargs(name))
    p = model.params
    assert p.engine == "array" and p.n_agents == 200
    for key, value in {**preset.settings, **preset.extras}.items():
        if key != "seed":
            assert getattr(p, key) == value, key
    assert model.seed == preset.settings["seed"]
    # the controls Mesa shows start at the preset's values; the extras ride along as fixed values
    params = model_params(name)
    for key in CONTROLS:
        assert params[key]["value"] == preset.settings[key]
    for key, value in preset.extras.items():
        assert params[key] == value
    assert preset.text


def test_mesa_reset_rebuilds_the_same_model_from_the_controls():
    from mesa.visualization.solara_viz import _build_model_init_kwargs, split_model_params

    current = ClassroomModel(**preset_kwargs("separation"))
    user, fixed = split_model_params(model_params("separation"))
    values = {**fixed, **{k: v["value"] for k, v in user.items()}}
    kwargs = _build_model_init_kwargs(
        current, values, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert "scenario" in kwargs  # Mesa passes one; the model must accept it
    rebuilt = type(current)(**kwargs)
    assert rebuilt.params == current.params and rebuilt.seed == current.seed
    _run(current, 30)
    _run(rebuilt, 30)
    for key in app.TRACKED:
        np.testing.assert_array_equal(np.vstack(rebuilt.history[key]), np.vstack(current.history[key]))


# ------------------------------------------------------------------ the model behind the page


def test_history_has_one_snapshot_per_step_and_time_in_days():
    model = _run(ClassroomModel(n_agents=60, seed=3), 5)
    assert all(len(v) == 6 for v in model.history.values())
    assert all(v.shape == (60,) for v in model.history["tone"])
    np.testing.assert_allclose(model.days(), np.arange(6) / 24.0)
    np.testing.assert_allclose(model.history["tone"][-1], model.state()["tone"], rtol=1e-6)


def test_layout_is_computed_once_per_model():
    model = ClassroomModel(n_agents=80, seed=2)
    first = model.layout()
    assert first.shape == (80, 2) and np.isfinite(first).all()
    _run(model, 3)
    assert model.layout() is first
    np.testing.assert_array_equal(ClassroomModel(n_agents=80, seed=2).layout(), first)


def test_groups_split_by_drug_arm_only_when_arms_differ():
    assert list(ClassroomModel(**preset_kwargs("free play")).groups()) == ["everyone"]  # placebo only
    assert list(ClassroomModel(drug="naltrexone", treated_fraction=1.0).groups()) == ["everyone"]
    model = ClassroomModel(**preset_kwargs("placebo vs naltrexone"))
    groups = model.groups()
    assert list(groups) == ["naltrexone arm", "placebo arm"]
    np.testing.assert_array_equal(groups["naltrexone arm"], model.state()["treated"])
    assert groups["naltrexone arm"].sum() == 100 and not (groups["naltrexone arm"] & groups["placebo arm"]).any()


def test_separation_groups_appear_when_the_partner_leaves():
    model = ClassroomModel(**preset_kwargs("separation"))
    _run(model, 47)
    assert list(model.groups()) == ["everyone"]
    _run(model, 2)  # the loss happens on day 2 (hour 48)
    groups = model.groups()
    assert list(groups) == ["lost a partner", "others"]
    assert groups["lost a partner"].sum() == 60  # 30 % of 200


def test_placebo_vs_naltrexone_shows_the_blockade():
    model = _run(ClassroomModel(**preset_kwargs("placebo vs naltrexone")), 48)
    felt = model.group_series("felt_connection")
    occupancy = model.group_series("occupancy")
    assert occupancy["naltrexone arm"][-1] > 0.9 and occupancy["placebo arm"][-1] == 0.0
    assert felt["naltrexone arm"][-1] < felt["placebo arm"][-1] - 0.1
    seeking = model.group_series("seeking")
    assert seeking["naltrexone arm"][24:].mean() > 2 * seeking["placebo arm"][24:].mean()


def test_morphine_spares_the_isolated_from_distress():
    model = _run(ClassroomModel(**preset_kwargs("morphine and distress")), 72)
    distress = model.group_series("distress")
    during = slice(24, 73)  # everyone is isolated from hour 24 to hour 72
    assert distress["placebo arm"][during].mean() > 0.4
    assert distress["morphine arm"][during].mean() < 0.5 * distress["placebo arm"][during].mean()
    assert distress["morphine arm"][26:34].max() < 0.05  # while the morning dose acts


def test_separation_raises_distress_of_those_left():
    model = _run(ClassroomModel(**preset_kwargs("separation")), 96)
    distress = model.group_series("distress")
    assert distress["lost a partner"][60:].mean() > distress["others"][60:].mean()


def test_same_seed_same_run_other_seed_other_run():
    a = _run(ClassroomModel(**preset_kwargs("rejection")), 20)
    b = _run(ClassroomModel(**preset_kwargs("rejection")), 20)
    c = _run(ClassroomModel(**{**preset_kwargs("rejection"), "seed": 2}), 20)
    np.testing.assert_array_equal(np.vstack(a.history["tone"]), np.vstack(b.history["tone"]))
    assert not np.array_equal(np.vstack(a.history["tone"]), np.vstack(c.history["tone"]))


# ------------------------------------------------------------------ figures


def test_trailing_mean_known_values():
    np.testing.assert_allclose(app._trailing_mean(np.array([0.0, 2.0, 4.0, 6.0]), 2), [0.0, 1.0, 3.0, 5.0])
    np.testing.assert_allclose(app._trailing_mean(np.array([1.0, 3.0]), 1), [1.0, 3.0])


def test_network_figure_draws_every_open_tie_and_every_person():
    model = ClassroomModel(**preset_kwargs("separation"))
    _run(model, 49)
    closed = int((~model.open_edges()).sum()) // 2
    fig = app.network_figure(model)
    ax = fig.axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert closed == 60  # one partner each for 60 people
    assert len(lines[0].get_segments()) == model.network.n_edges // 2 - closed
    assert len(dots[0].get_offsets()) == model.n
    # colours follow tone by default, distress when asked
    np.testing.assert_allclose(dots[0].get_array(), model.state()["tone"] / model.state()["tone_set_point"])
    dots_d = [c for c in app.network_figure(model, "distress").axes[0].collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(dots_d[0].get_array(), model.state()["distress"])
    with pytest.raises(ValueError, match="colour_by"):
        app.network_figure(model, "bonds")


def test_figures_change_as_the_model_steps():
    model = ClassroomModel(**preset_kwargs("placebo vs naltrexone"))
    before = [_png(f(model)) for f in (app.network_figure, app.mood_figure, app.occupancy_figure)]
    _run(model, 3)
    after = [_png(f(model)) for f in (app.network_figure, app.mood_figure, app.occupancy_figure)]
    assert all(a != b for a, b in zip(before, after, strict=True))


def test_mood_figure_plots_the_group_means():
    model = _run(ClassroomModel(**preset_kwargs("placebo vs naltrexone")), 10)
    fig = app.mood_figure(model)
    ax = fig.axes[0]  # felt connection
    assert [line.get_label() for line in ax.get_lines()] == ["naltrexone arm", "placebo arm"]
    for line, series in zip(ax.get_lines(), model.group_series("felt_connection").values(), strict=True):
        np.testing.assert_allclose(line.get_ydata(), series)
        np.testing.assert_allclose(line.get_xdata(), model.days())


def test_occupancy_figure_says_so_when_no_drug_acts():
    fig = app.occupancy_figure(ClassroomModel(**preset_kwargs("free play")))
    assert "no active drug" in " ".join(t.get_text() for t in fig.axes[0].texts)
    model = _run(ClassroomModel(**preset_kwargs("placebo vs naltrexone")), 12)
    line = app.occupancy_figure(model).axes[0].get_lines()[0]
    assert line.get_ydata()[-1] == pytest.approx(model.current["mean_occupancy"], rel=1e-5)


# ------------------------------------------------------------------ the page (rendered without a browser)


@pytest.fixture
def page():
    import solara
    from solara.server import kernel, kernel_context

    context = kernel_context.VirtualKernelContext(id="test-app", kernel=kernel.Kernel(), session_id="test-session")
    with context:
        _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        yield rc
        rc.close()


@pytest.mark.filterwarnings("ignore:There is no current event loop:DeprecationWarning")  # inside Solara
def test_page_steps_switches_presets_and_resets(page):
    import ipyvuetify as v
    import ipywidgets

    images = lambda: [bytes(w.value) for w in page.find(ipywidgets.Image).widgets]  # noqa: E731
    assert len(images()) == 3
    page.find(children=["Time: 0.0"]).assert_single()
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(children=["Time: 1.0"]).assert_single()
    first = images()

    page.find(v.Btn, children=["placebo vs naltrexone"]).widget.click()
    page.find(children=["Time: 0.0"]).assert_single()
    assert page.find(v.Select, label="Drug").widget.v_model == "naltrexone"
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(children=["Time: 2.0"]).assert_single()
    stepped = images()
    assert all(a != b for a, b in zip(first, stepped, strict=True))

    page.find(v.BtnToggle).widget.v_model = 1  # recolour the network by distress (what a click on it does)
    assert images()[0] != stepped[0]
    page.find(children=["Time: 2.0"]).assert_single()

    page.find(v.Btn, children=["Reset"]).widget.click()  # Mesa's reset keeps the preset's settings
    page.find(children=["Time: 0.0"]).assert_single()
    assert page.find(v.Select, label="Drug").widget.v_model == "naltrexone"


def test_importing_the_app_does_not_start_solara():
    code = "import sys, bondsim.app, bondsim.cli; bondsim.cli.build_parser(); print('solara' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False"


# ------------------------------------------------------------------ the command's errors


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_bad_port_is_one_line_and_status_2(port, capsys):
    from bondsim.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["app", "--port", port])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--port" in err


def test_busy_port_is_one_line_and_status_2(bondsim):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = bondsim("app", "--port", str(port))
    assert out.returncode == 2
    assert out.stderr.strip() == f"bondsim app: error: cannot serve on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in out.stderr and out.stdout == ""
