"""Course configuration: ``dlgrade.toml``, or ``[tool.dlgrade]`` in ``pyproject.toml``.

A course may change, per exercise, the points of each check, the performance thresholds, the
limits of the student process (time, memory) and the device. Everything is optional; what is not
given keeps the built-in value. Example (``dlgrade.toml``; in ``pyproject.toml`` prefix every
table with ``tool.dlgrade``)::

    device = "auto"            # default of --device (an explicit --device wins)
    perf = true                # false: performance checks off, like --no-perf

    [limits]                   # every exercise
    call_timeout_s = 20        # seconds one batch of calls may take
    budget_s = 90              # seconds all calls of one exercise may take
    memory_mb = 2048           # address space the student's code may add
    confine_writes = true      # default; false: no Landlock write confinement (docs/security.md)
    cpu_s = 120                # CPU seconds of the student process
    file_mb = 1                # largest file (and captured output) it may write

    [gradescope]
    leaderboard = true         # Gradescope results carry a leaderboard entry per timed function

    [exercises.ex06]           # ex06, ex6, 6 and conv name the same exercise
    device = "cpu"
    memory_mb = 4096           # any key of [limits]
    points = { performance = 2, op_count = 1 }          # check name -> points (>= 0)
    thresholds = { "conv_forward[batch]" = 40 }         # CPU ratio limits (unit or function)
    gpu_thresholds = { conv_forward = 20 }              # CUDA ratio limits to torch's kernels
    gpu_budget_ms = { conv_forward = 5.0 }              # CUDA: absolute ms per forward+backward

    [batch.slurm]              # grade-batch --executor slurm (command-line flags win)
    partition = "gpu"          # also: account, qos and the like in sbatch = { qos = "high" }
    time = 30                  # minutes per array task
    gpus_per_task = 1          # cpus_per_task = 1, mem_gb = 8
    array_parallelism = 50     # tasks running at once
    students_per_task = 10
    setup = ["module load cuda", "source /shared/dlgrade/.venv/bin/activate"]
    python = "python"          # how a task starts Python (e.g. "apptainer exec dlgrade.sif python")

Where it is looked for: :mod:`grader.discovery` (``--config``, ``$DLGRADE_CONFIG``, the packaged
course configuration, the working directory; never a file inside the graded submission).

Every mistake is a :class:`ConfigError` with a one-line message naming the file, the table, the
key, what was expected and what was found. Parsing uses :mod:`tomllib` (Python 3.11+, else the
``tomli`` backport).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from grader.runner.process import Limits

DEVICES = ("cpu", "cuda", "auto")
#: Keys of ``[limits]`` (and of an exercise table) -> (Limits field, scale to the field's unit).
LIMIT_KEYS = {
    "call_timeout_s": ("call_timeout_s", 1.0),
    "budget_s": ("budget_s", 1.0),
    "memory_mb": ("memory_bytes", 1024.0**2),
    "cpu_s": ("cpu_seconds", 1.0),
    "file_mb": ("file_bytes", 1024.0**2),
}
TOP_KEYS = ("device", "perf", "limits", "exercises", "gradescope", "batch")
GRADESCOPE_KEYS = ("leaderboard",)
#: The course configuration packaged into the grader's wheel by ``dlgrade release``.
PACKAGED = Path(__file__).resolve().parent / "course" / "dlgrade.toml"
#: Keys of ``[batch.slurm]`` -> (type check, what is expected).
SLURM_KEYS = {
    "partition": (lambda v: isinstance(v, str) and v.strip() != "", "a partition name"),
    "account": (lambda v: isinstance(v, str) and v.strip() != "", "an account name"),
    "time": (lambda v: _is_number(v) and v > 0, "a positive number of minutes"),
    "gpus_per_task": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "cpus_per_task": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "mem_gb": (lambda v: _is_number(v) and v > 0, "a positive number of GB"),
    "array_parallelism": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "students_per_task": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "setup": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
              "a list of shell lines"),
    "python": (lambda v: isinstance(v, str) and v.strip() != "", "a command"),
    "sbatch": (lambda v: isinstance(v, dict) and all(
        isinstance(x, (str, int, float)) and not isinstance(x, bool) or x is True
        for x in v.values()), "a table of sbatch options {name = value}"),
}
EXERCISE_KEYS = ("device", "points", "thresholds", "gpu_thresholds", "gpu_budget_ms",
                 "confine_writes", *LIMIT_KEYS)


class ConfigError(ValueError):
    """The course configuration is unreadable or invalid; ``str()`` is a one-line message."""


@dataclass
class CourseConfig:
    """A validated course configuration.

    Attributes:
        source: the file it came from (None: no configuration, everything built in).
        device: default device ("cpu"/"cuda"/"auto") or None.
        perf: default for performance checks (None: on).
        limits: exercise id -> :class:`~grader.runner.process.Limits` (every known exercise when
            any limit is configured; otherwise empty).
        devices: exercise id -> "cpu"/"cuda"/"auto" where an exercise sets its own.
        points: exercise id -> {check name: points}.
        performance: exercise id -> {"thresholds": {...}, "gpu_thresholds": {...},
            "gpu_budget_ms": {...}} (what :mod:`grader.checks.performance` reads).
        leaderboard: ``[gradescope] leaderboard``: Gradescope results get leaderboard entries.
        batch_slurm: the validated ``[batch.slurm]`` table (keys of :data:`SLURM_KEYS`).
    """

    source: Path | None = None
    device: str | None = None
    perf: bool | None = None
    limits: dict = field(default_factory=dict)
    devices: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)
    performance: dict = field(default_factory=dict)
    leaderboard: bool = False
    batch_slurm: dict = field(default_factory=dict)


def find(path: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None) -> Path | None:
    """The configuration file :func:`grader.discovery.discover` chooses without ``--config`` or
    ``$DLGRADE_CONFIG``, or None."""
    from grader.discovery import discover
    return discover(path, cwd, environ={}).file


def _has_tool_table(pyproject: Path) -> bool:
    data = _read(pyproject)
    return isinstance(data.get("tool"), dict) and "dlgrade" in data["tool"]


def _read(file: Path) -> dict:
    try:
        with open(file, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def load(file: str | os.PathLike | None, exercises=None) -> CourseConfig:
    """Read and validate ``file`` (None: an empty configuration).

    Args:
        file: ``dlgrade.toml`` or a ``pyproject.toml`` with ``[tool.dlgrade]``.
        exercises: the known exercises (default: the registry), to resolve ids and check names.

    Raises:
        ConfigError: unreadable file, invalid TOML, unknown key/exercise/check, wrong type or
            out-of-range value (one line, with file and table).
    """
    if file is None:
        return CourseConfig()
    file = Path(file)
    data = _read(file)
    where = f"{file}: "
    prefix = ""
    if file.name == "pyproject.toml":
        tool = data.get("tool", {})
        data = tool.get("dlgrade") if isinstance(tool, dict) else None
        prefix = "tool.dlgrade."
        if not isinstance(data, dict):
            raise ConfigError(f"{where}[tool.dlgrade] must be a table")
    if exercises is None:
        from grader.exercises import all_exercises
        exercises = all_exercises()
    cfg = CourseConfig(source=file)
    _unknown(data, TOP_KEYS, where + (f"[{prefix[:-1]}]" if prefix else "top level"))
    if "device" in data:
        cfg.device = _device(data["device"], where + f"{prefix}device")
    if "perf" in data:
        if not isinstance(data["perf"], bool):
            raise ConfigError(f"{where}{prefix}perf must be true or false, got {data['perf']!r}")
        cfg.perf = data["perf"]
    gradescope = _table(data, "gradescope", where, prefix)
    _unknown(gradescope, GRADESCOPE_KEYS, where + f"[{prefix}gradescope]")
    if "leaderboard" in gradescope:
        if not isinstance(gradescope["leaderboard"], bool):
            raise ConfigError(f"{where}[{prefix}gradescope] leaderboard must be true or false, "
                              f"got {gradescope['leaderboard']!r}")
        cfg.leaderboard = gradescope["leaderboard"]
    base = _limits(Limits(), _table(data, "limits", where, prefix), where + f"[{prefix}limits]")
    tables = _table(data, "exercises", where, prefix)
    by_id = {}
    for name, table in tables.items():
        ex = _resolve(name, exercises, where + f"[{prefix}exercises]")
        if ex.id in by_id:
            raise ConfigError(f"{where}[{prefix}exercises] names {ex.id} twice ({by_id[ex.id]!r} "
                              f"and {name!r})")
        by_id[ex.id] = name
        label = where + f"[{prefix}exercises.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{label} must be a table, got {table!r}")
        _unknown(table, EXERCISE_KEYS, label)
        if "device" in table:
            dev = _device(table["device"], f"{label} device")
            if ex.backend != "torch" and dev == "cuda":
                raise ConfigError(f"{label} device = \"cuda\": {ex.id} is a numpy exercise")
            cfg.devices[ex.id] = dev
        limits = _limits(base, table, label)
        if limits != base:
            cfg.limits[ex.id] = limits
        if "points" in table:
            cfg.points[ex.id] = _points(table["points"], ex, label)
        perf = {}
        for key in ("thresholds", "gpu_thresholds", "gpu_budget_ms"):
            if key in table:
                perf[key] = _numbers(table[key], ex, f"{label} {key}", key)
        if perf:
            cfg.performance[ex.id] = perf
    if base != Limits() or cfg.limits:
        cfg.limits = {ex.id: cfg.limits.get(ex.id, base) for ex in exercises}
    batch = _table(data, "batch", where, prefix)
    _unknown(batch, ("slurm",), where + f"[{prefix}batch]")
    slurm = batch.get("slurm", {})
    label = where + f"[{prefix}batch.slurm]"
    if not isinstance(slurm, dict):
        raise ConfigError(f"{label} must be a table, got {slurm!r}")
    _unknown(slurm, SLURM_KEYS, label)
    for key, value in slurm.items():
        ok, expected = SLURM_KEYS[key]
        if not ok(value):
            raise ConfigError(f"{label} {key} must be {expected}, got {value!r}")
    cfg.batch_slurm = dict(slurm)
    return cfg


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _table(data: dict, key: str, where: str, prefix: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{prefix}{key} must be a table ([{prefix}{key}]), got {value!r}")
    return value


def _unknown(table: dict, known, label: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{label}: unknown key {key!r} (known: {', '.join(known)})")


def _device(value, label: str) -> str:
    if value not in DEVICES:
        raise ConfigError(f"{label} must be one of {', '.join(DEVICES)}, got {value!r}")
    return value


def _positive(value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise ConfigError(f"{label} must be a positive number, got {value!r}")
    return float(value)


def _limits(base: Limits, table: dict, label: str) -> Limits:
    changes = {}
    for key, (attr, scale) in LIMIT_KEYS.items():
        if key in table:
            value = _positive(table[key], f"{label} {key}") * scale
            changes[attr] = int(value) if isinstance(getattr(base, attr), int) else value
    if "confine_writes" in table:  # Landlock write confinement (docs/security.md, class 1)
        if not isinstance(table["confine_writes"], bool):
            raise ConfigError(f"{label} confine_writes must be true or false, "
                              f"got {table['confine_writes']!r}")
        changes["confine_writes"] = table["confine_writes"]
    if "uid_range" in table:  # uids leased per grading process under root (security.md, class 2)
        value = table["uid_range"]
        if value == []:
            changes["uid_range"] = ()
        elif isinstance(value, list) and len(value) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value) \
                and 0 < value[0] <= value[1] < 2**31 - 1:
            changes["uid_range"] = (value[0], value[1])
        else:
            raise ConfigError(f"{label} uid_range must be [first, last] with 0 < first <= last "
                              f"(or [] to run every student as run_as), got {value!r}")
    if "budget_s" in changes or "call_timeout_s" in changes:
        merged = dataclasses.replace(base, **changes)
        if merged.budget_s < merged.call_timeout_s:
            raise ConfigError(f"{label} budget_s ({merged.budget_s:g}) must be at least "
                              f"call_timeout_s ({merged.call_timeout_s:g})")
    return dataclasses.replace(base, **changes) if changes else base


def _resolve(name, exercises, label: str):
    import re
    key = str(name).strip().lower()
    for ex in exercises:
        m = re.fullmatch(r"(?:ex)?0*(\d+)", key)
        if (m and int(m.group(1)) == ex.number) or key in (ex.slug, f"{ex.id}_{ex.slug}", ex.id):
            return ex
    known = ", ".join(e.id for e in exercises)
    raise ConfigError(f"{label}: unknown exercise {name!r} (known: {known})")


def _points(value, ex, label: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{label} points must be a table {{check = points}}, got {value!r}")
    names = [c.name for c in ex.checks]
    out = {}
    for check, pts in value.items():
        if check not in names:
            raise ConfigError(f"{label} points: {ex.id} has no check {check!r} "
                              f"(checks: {', '.join(names)})")
        if isinstance(pts, bool) or not isinstance(pts, (int, float)) or not math.isfinite(pts) \
                or pts < 0:
            raise ConfigError(f"{label} points.{check} must be a number >= 0, got {pts!r}")
        out[check] = float(pts)
    return out


def _numbers(value, ex, label: str, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{label} must be a table {{unit = number}}, got {value!r}")
    plan = ex.plan
    units = (plan.gpu_timed if key.startswith("gpu") else plan.timed) if plan else ()
    known = sorted({t.key for t in units} | {t.fn for t in units})
    out = {}
    for unit, number in value.items():
        if unit not in known:
            raise ConfigError(f"{label}: {ex.id} times no {unit!r} "
                              f"(timed: {', '.join(known) or 'nothing'})")
        out[unit] = _positive(number, f"{label}.{unit}")
        if key != "gpu_budget_ms" and out[unit] < 1.0:
            raise ConfigError(f"{label}.{unit} is a ratio to the reference and must be >= 1, "
                              f"got {number!r}")
    return out


def apply(cfg: CourseConfig, exercises: list) -> list:
    """The exercises with the configuration's points and performance settings applied.

    Returns new :class:`~grader.spec.Exercise` objects (the registry's are not changed): checks
    with their configured points, and ``config["performance"]`` holding the thresholds.
    """
    out = []
    for ex in exercises:
        points = cfg.points.get(ex.id, {})
        perf = cfg.performance.get(ex.id)
        if not points and not perf:
            out.append(ex)
            continue
        checks = tuple(dataclasses.replace(c, points=points[c.name]) if c.name in points else c
                       for c in ex.checks)
        config = dict(ex.config)
        if perf:
            config["performance"] = perf
        out.append(dataclasses.replace(ex, checks=checks, config=config))
    return out
