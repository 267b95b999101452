"""Every failure path of run, pk, experiment, trial, analyze and app: one line, the right exit status, no leftovers.

Each path runs ``bondsim`` as a subprocess, as a user meets it. The contract (docs/quickstart.md):
exit 0 done, 1 the work failed, 2 a user error or an output that cannot be written, 130 interrupted;
one line on stderr, no traceback, and no output or hidden temporary directory left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bondsim import errors
from bondsim.memory import GB, _gb, available_bytes, estimate_bytes

SMALL_RUN = ["run", "--set", "n_agents=30", "--set", "mean_degree=4", "--steps", "3", "--quiet"]


def check_one_line(result: subprocess.CompletedProcess, status: int, expected: str, command: str) -> str:
    """Exit ``status``, exactly one stderr line naming the command and containing ``expected``."""
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"bondsim {command}: "), lines[0]
    assert expected in lines[0], lines[0]
    return lines[0]


def listing(directory: Path) -> list[str]:
    """Every name under ``directory``, hidden ones included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB file system (tmpfs): writing more fails with ENOSPC."""

    def mount(size: str = "64k") -> Path:
        disk = tmp_path / "disk"
        disk.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True)
        if done.returncode != 0:
            pytest.skip("a full disk is simulated with a small tmpfs, which needs permission to mount (root)")
        mounted.append(disk)
        return disk

    mounted: list[Path] = []
    yield mount
    for disk in mounted:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.fixture
def unwritable(tmp_path):
    """A directory this process cannot write into (read-only mode, or immutable when we are root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        (locked / "probe").touch()
    except OSError:
        yield locked
        locked.chmod(0o755)
        return
    (locked / "probe").unlink()  # root ignores the mode: make the directory immutable instead
    locked.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a directory unwritable here (root, and chattr +i is not supported)")
    yield locked
    subprocess.run(["chattr", "-i", str(locked)], check=False)


# ---------------------------------------------------------------------------------- existing output
def test_run_refuses_a_non_empty_out_without_overwrite(bondsim, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    result = bondsim(*SMALL_RUN, "--out", out)
    check_one_line(result, 2, "is not empty: use --overwrite", "run")
    assert listing(tmp_path) == ["out", "out/notes.txt"]

    again = bondsim(*SMALL_RUN, "--out", out, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert listing(out) == ["notes.txt", "run.json", "timeseries.csv"]  # other files are kept
    assert listing(tmp_path) == ["out", "out/notes.txt", "out/run.json", "out/timeseries.csv"]


@pytest.mark.slow
def test_run_writes_into_an_empty_out_and_makes_missing_parents(bondsim, tmp_path):
    (tmp_path / "empty").mkdir()
    assert bondsim(*SMALL_RUN, "--out", tmp_path / "empty").returncode == 0
    assert bondsim(*SMALL_RUN, "--out", tmp_path / "a" / "b" / "out").returncode == 0
    assert (tmp_path / "empty" / "run.json").is_file() and (tmp_path / "a" / "b" / "out" / "run.json").is_file()
    umask = os.umask(0)
    os.umask(umask)
    mode = (tmp_path / "a" / "b" / "out").stat().st_mode & 0o777
    assert mode == 0o777 & ~umask, oct(mode)  # readable as any directory made by the user, not private


def test_run_refuses_an_out_that_is_a_file(bondsim, tmp_path):
    (tmp_path / "out").write_text("x")
    check_one_line(bondsim(*SMALL_RUN, "--out", tmp_path / "out"), 2, "exists and is not a directory", "run")
    assert listing(tmp_path) == ["out"]


def test_pk_refuses_an_existing_plot_without_overwrite(bondsim, tmp_path):
    figure = tmp_path / "pk.png"
    figure.write_bytes(b"old")
    result = bondsim("pk", "naltrexone", "--dose", "50", "--plot", figure)
    check_one_line(result, 2, "exists: use --overwrite", "pk")
    assert result.stdout == "" and figure.read_bytes() == b"old"
    again = bondsim("pk", "naltrexone", "--dose", "50", "--plot", figure, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert figure.read_bytes()[:4] == b"\x89PNG" and listing(tmp_path) == ["pk.png"]


def test_experiment_refuses_a_non_empty_out_before_running(bondsim, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    started = time.perf_counter()
    result = bondsim("experiment", "inagaki2016", "--out", out, "--quiet")
    check_one_line(result, 2, "is not empty: use --overwrite", "experiment")
    assert time.perf_counter() - started < 30  # refused up front, not after the trials
    assert listing(tmp_path) == ["out", "out/summary.json"]


def test_analyze_refuses_a_non_empty_out_before_reading(bondsim, tmp_path):
    sweep_dir = tmp_path / "sweep"
    (sweep_dir / "analysis").mkdir(parents=True)
    (sweep_dir / "analysis" / "summary.csv").write_text("old\n")
    check_one_line(bondsim("analyze", sweep_dir), 2, "analysis is not empty: use --overwrite", "analyze")
    assert listing(tmp_path) == ["sweep", "sweep/analysis", "sweep/analysis/summary.csv"]


# ------------------------------------------------------------------------------ unwritable output
@pytest.mark.parametrize(
    "args",
    [
        pytest.param([*SMALL_RUN, "--out"], id="run"),
        pytest.param(["pk", "naltrexone", "--dose", "50", "--plot"], id="pk"),
        pytest.param(["experiment", "grooming", "--quiet", "--out"], id="experiment"),
        pytest.param(["analyze", "sweep", "--out"], id="analyze"),
        pytest.param(["trial", "inagaki2016", "--quiet", "--out"], id="trial"),
    ],
)
def test_output_below_a_regular_file_is_one_line(bondsim, tmp_path, args):
    (tmp_path / "somefile").write_text("x")
    (tmp_path / "sweep").mkdir()
    target = "somefile/sub.png" if args[0] == "pk" else "somefile/sub"
    result = bondsim(*args, target, cwd=tmp_path)
    check_one_line(result, 2, f"cannot write to {target}: somefile is not a directory", args[0])
    assert result.stdout == ""
    assert listing(tmp_path) == ["somefile", "sweep"]


def test_run_into_an_unwritable_directory_is_one_line_and_leaves_nothing(bondsim, unwritable):
    result = bondsim(*SMALL_RUN, "--out", unwritable / "out")
    check_one_line(result, 2, f"cannot write to {unwritable / 'out'}", "run")
    assert listing(unwritable) == []  # no hidden .out.xxxx/


def test_pk_plot_into_an_unwritable_directory_is_one_line(bondsim, unwritable):
    result = bondsim("pk", "naltrexone", "--dose", "50", "--plot", unwritable / "x.png")
    check_one_line(result, 2, f"cannot write to {unwritable / 'x.png'}", "pk")
    assert result.stdout == "" and listing(unwritable) == []


# ------------------------------------------------------------------------------------- full disk
def test_run_on_a_full_disk_is_one_line_and_leaves_nothing(bondsim, full_disk):
    disk = full_disk("64k")
    # 30 days of steps plus a figure do not fit in 64 KiB; the missing parent "new" is removed too
    result = bondsim(*SMALL_RUN[:-3], "--days", "30", "--plot", "--quiet", "--out", disk / "new" / "out")
    check_one_line(result, 2, "No space left on device", "run")
    assert listing(disk) == []


def test_pk_plot_on_a_full_disk_is_one_line_and_leaves_nothing(bondsim, full_disk):
    disk = full_disk("16k")
    result = bondsim("pk", "naltrexone", "--dose", "50", "--plot", disk / "pk.png")
    check_one_line(result, 2, "No space left on device", "pk")
    assert result.stdout == "" and listing(disk) == []


@pytest.mark.slow
def test_experiment_on_a_full_disk_is_one_line_and_leaves_nothing(bondsim, full_disk, tmp_path):
    disk = full_disk("16k")
    config = tmp_path / "small.toml"
    config.write_text("[design]\ngroups = 2\ngroup_size = 12\ninjected = 4\nwarmup_days = 1\n")
    result = bondsim("experiment", "grooming", "--config", config, "--workers", "1", "--quiet", "--out", disk / "g")
    check_one_line(result, 2, "No space left on device", "experiment")
    assert listing(disk) == []


def small_trial(directory: Path) -> Path:
    """A design file of a quick virtual trial (the library's Inagaki 2016 in a small community)."""
    text = (Path(__file__).resolve().parents[1] / "experiments" / "trials" / "inagaki2016.toml").read_text()
    path = directory / "small_trial.toml"
    path.write_text(text.replace("size = 160", "size = 40").replace("warmup_days = 42", "warmup_days = 2"))
    return path


@pytest.mark.slow
def test_trial_on_a_full_disk_is_one_line_and_leaves_nothing(bondsim, full_disk, tmp_path):
    disk = full_disk("16k")
    result = bondsim("trial", small_trial(tmp_path), "--replications", "2", "--workers", "1", "--quiet",
                     "--out", disk / "t")  # fmt: skip
    check_one_line(result, 2, "No space left on device", "trial")
    assert listing(disk) == []


def test_trial_with_an_unreachable_scheduler_is_one_line_and_leaves_nothing(bondsim, tmp_path):
    result = bondsim("trial", small_trial(tmp_path), "--scheduler", "tcp://127.0.0.1:9", "--quiet", "--out",
                     tmp_path / "t")  # fmt: skip
    check_one_line(result, 2, "cannot connect to the Dask scheduler at tcp://127.0.0.1:9", "trial")
    assert not (tmp_path / "t").exists() and listing(tmp_path) == ["small_trial.toml"]


# ----------------------------------------------------------------------------------------- Ctrl-C
def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def interrupt(
    argv: list[str], cwd: Path, started, group: bool, signum: int = signal.SIGINT
) -> subprocess.CompletedProcess:
    """Start ``argv``, wait until ``started()``, then Ctrl-C it (the process group, as a terminal does).

    The result's ``pid`` is the command's process id and process group. The command starts with
    Ctrl-C's default action, as from a terminal, even when these tests run in a background job
    (which ignores Ctrl-C, and a command started from it would too).
    """
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for(lambda: started(proc) or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    result = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    result.pid = proc.pid
    return result


def workers_busy(work: Path):
    """True once the command has staged its output and two worker processes have run for 2 s."""
    import psutil

    def ready(proc) -> bool:
        try:
            running = staged(work)(proc) and len(psutil.Process(proc.pid).children()) >= 2
        except psutil.Error:
            return False
        return running and time.sleep(2.0) is None

    return ready


def staged(work: Path, name: str = "out"):
    """True once the command has created its hidden staging directory (so the work is under way)."""
    return lambda _proc: any(work.glob(f".{name}.*"))


def group_alive(pgid: int) -> list[int]:
    import psutil

    alive = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return alive


@pytest.mark.slow
def test_ctrl_c_during_run_is_one_line_exit_130_and_leaves_nothing(bondsim_argv, tmp_path):
    argv = [*bondsim_argv, "run", "--set", "n_agents=2000", "--days", "60", "--quiet", "--out", "out"]
    ready = staged(tmp_path)
    result = interrupt(argv, tmp_path, lambda p: ready(p) and time.sleep(1.0) is None, group=True)
    check_one_line(result, 130, "interrupted", "run")
    assert listing(tmp_path) == []


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("group", [True, False], ids=["terminal", "main-process-only"])
def test_ctrl_c_during_experiment_stops_the_workers(bondsim_argv, tmp_path, group):

    argv = [*bondsim_argv, "experiment", "inagaki2016", "--workers", "2", "--quiet", "--out", "out"]

    result = interrupt(argv, tmp_path, workers_busy(tmp_path), group=group)
    check_one_line(result, 130, "interrupted", "experiment")
    assert listing(tmp_path) == []
    wait_for(lambda: not group_alive(result.pid), timeout=10)  # no worker left running


@pytest.mark.cluster
@pytest.mark.slow
def test_ctrl_c_during_a_trial_stops_the_workers_and_leaves_nothing(bondsim_argv, tmp_path):

    argv = [*bondsim_argv, "trial", "inagaki2016", "--workers", "2", "--quiet", "--out", "out"]

    result = interrupt(argv, tmp_path, workers_busy(tmp_path), group=True)
    check_one_line(result, 130, "interrupted", "trial")
    assert listing(tmp_path) == []
    wait_for(lambda: not group_alive(result.pid), timeout=10)


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("command", [["trial", "inagaki2016"], ["experiment", "inagaki2016"]], ids=lambda c: c[0])
def test_sigterm_is_one_line_exit_143_stops_the_workers_and_leaves_nothing(bondsim_argv, tmp_path, command):

    argv = [*bondsim_argv, *command, "--workers", "2", "--quiet", "--out", "out"]

    # `kill PID` or a batch system's time limit: the signal reaches the main process only
    result = interrupt(argv, tmp_path, workers_busy(tmp_path), group=False,
                       signum=signal.SIGTERM)  # fmt: skip
    check_one_line(result, 143, "terminated", command[0])
    assert listing(tmp_path) == []
    wait_for(lambda: not group_alive(result.pid), timeout=10)  # no orphaned worker computing on


@pytest.mark.slow
@pytest.mark.parametrize("group", [True, False], ids=["terminal", "main-process-only"])
def test_ctrl_c_stops_the_app_with_one_line_and_exit_130(bondsim_argv, tmp_path, group):
    import socket

    with socket.socket() as sock:  # a free port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def serving(_proc) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    result = interrupt([*bondsim_argv, "app", "--port", str(port)], tmp_path, serving, group=group)
    check_one_line(result, 130, "interrupted", "app")
    assert listing(tmp_path) == []


# ----------------------------------------------------------------------------- too many people
def test_a_population_too_large_for_the_engine_is_refused_up_front(bondsim, tmp_path, monkeypatch):
    monkeypatch.setenv("BONDSIM_MEMORY_GB", "2")
    started = time.perf_counter()
    result = bondsim("run", "--set", "n_agents=1000000", "--out", "out", cwd=tmp_path)
    array, agents = estimate_bytes(1_000_000, 8, "array"), estimate_bytes(1_000_000, 8, "agents")
    if available_bytes() >= array:
        line = check_one_line(result, 2, f"use --engine array (about {_gb(array)})", "run")
    else:  # this machine cannot hold even the array engine's population
        line = check_one_line(result, 2, "use fewer people", "run")
    assert f"1,000,000 people on the agents engine need about {_gb(agents)}; this machine has" in line
    assert time.perf_counter() - started < 30 and listing(tmp_path) == []

    result = bondsim("run", "--engine", "array", "--set", "n_agents=10000000", "--out", "out", cwd=tmp_path)
    check_one_line(
        result, 2, f"people on the array engine need about {_gb(estimate_bytes(10_000_000, 8, 'array'))}", "run"
    )
    assert "use fewer people (about" in result.stderr and listing(tmp_path) == []


def test_the_memory_estimate_is_one_function_for_every_command():
    assert estimate_bytes(10_000_000, 8, "agents") > 4 * estimate_bytes(10_000_000, 8, "array")
    with pytest.raises(errors.ResourceError, match="use --engine array"):
        from bondsim.memory import check_memory

        check_memory(10_000_000, 8, "agents", available=int(20 * GB))
    check_memory(200, 8, "agents", available=int(1 * GB))


# -------------------------------------------------------------------------------- the Python API
def test_the_python_api_raises_bondsims_own_exceptions_with_the_cli_lines(bondsim, tmp_path):
    from bondsim.commands.run import write_run
    from bondsim.experiments import run_experiment
    from bondsim.params import Params, load
    from bondsim.sweep.analysis import analyze

    assert errors.ParameterError is __import__("bondsim.params").params.ParameterError
    for kind in (errors.ParameterError, errors.InputError, errors.OutputError, errors.ResourceError):
        assert issubclass(kind, errors.UserError)

    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(errors.OutputError) as raised:
        write_run(out, Params(n_agents=30, mean_degree=4), steps=2)
    cli = bondsim(*SMALL_RUN, "--out", out)
    assert cli.stderr.strip() == f"bondsim run: error: {raised.value}"

    with pytest.raises(errors.OutputError, match="is not empty"):
        run_experiment("grooming", out)
    with pytest.raises(errors.InputError, match="unknown experiment"):
        run_experiment("grooming2", tmp_path / "new")
    with pytest.raises(errors.InputError, match="sweep directory not found"):
        analyze(tmp_path / "missing")
    with pytest.raises(errors.ParameterError, match="unknown parameter"):
        load(overrides={"n_agnets": 3})
    with pytest.raises(errors.OutputError, match="somefile is not a directory"):
        (tmp_path / "somefile").write_text("x")
        write_run(tmp_path / "somefile" / "out", Params(n_agents=30, mean_degree=4), steps=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "somefile"]
    shutil.rmtree(out)


@pytest.mark.slow
def test_running_out_of_memory_anyway_is_one_line_exit_1(bondsim_argv, tmp_path):
    resource = pytest.importorskip("resource")

    def small_address_space() -> None:  # the estimate sees the machine's memory, the run only 1.2 GB
        resource.setrlimit(resource.RLIMIT_AS, (1_200_000_000, 1_200_000_000))

    argv = [*bondsim_argv, "run", "--engine", "array", "--set", "n_agents=1500000", "--steps", "2", "--quiet"]
    result = subprocess.run(
        [*argv, "--out", "out"], cwd=tmp_path, capture_output=True, text=True, preexec_fn=small_address_space
    )
    if result.returncode == 2:  # this machine has so little memory that the estimate refuses first
        check_one_line(result, 2, "need about", "run")
    else:
        check_one_line(result, 1, "ran out of memory: use fewer people", "run")
    assert listing(tmp_path) == []


# ------------------------------------------------------------------------------ analyze, full disk
SWEEP_SPEC = """
[sweep]
design = "grid"
replicates = 2
steps = 24
seed = 1
[fixed]
n_agents = 30
mean_degree = 4
[vary]
rejection_rate = [0.1, 0.5]
dose_mg = [0, 50]
"""


@pytest.mark.slow
def test_analyze_on_a_full_disk_is_one_line_and_leaves_nothing(bondsim, full_disk, tmp_path):
    disk = full_disk("64k")
    (tmp_path / "spec.toml").write_text(SWEEP_SPEC)
    made = bondsim("sweep", tmp_path / "spec.toml", "--out", tmp_path / "sweep", "--workers", "1", "--quiet")
    assert made.returncode == 0, made.stderr
    result = bondsim("analyze", tmp_path / "sweep", "--out", disk / "analysis")
    check_one_line(result, 2, "No space left on device", "analyze")
    assert result.stdout == "" and listing(disk) == []
    assert not (tmp_path / "sweep" / "analysis").exists()
