"""``dlgrade release STUDENT_REPO_DIR``: a student starter repository, without solutions.

Run in the course's dlgrade checkout (``--source``, default ``.``). Writes into the target:

* ``exercises/exNN_slug.py``: the skeletons from the source's ``exercises/`` (for every registered
  exercise, or the ones named with ``-e``). Each must be exactly what
  :func:`grader.skeleton.make_skeleton` makes of ``solutions/<same file>`` when that solution is
  present (else: "run dlgrade skeletons"), and none may hold a ``### BEGIN SOLUTION`` marker;
* ``.dlgrade/dlgrade-<version>-py3-none-any.whl`` and ``.dlgrade/SHA256SUMS``: the course's
  grader built from the source (:mod:`grader.vendor`; the course's ``dlgrade.toml`` packaged
  inside), opened and searched for every solution block before it is written (``--install
  SPEC`` instead names a published package or git URL, and nothing is vendored);
* the CI workflow (:func:`grader.ci.render`, installing that wheel), ``README.md`` for students
  (jinja2 template ``grader/templates/release/README.md.j2``), ``requirements.txt`` and
  ``.gitignore``.

Nothing is read from ``solutions/`` except to compare, and the written tree is scanned once more
for solution markers before the command reports success. The target must not be the source
checkout; an existing non-empty target needs ``--force`` (only the files above are replaced).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from grader import __version__
from grader.ci import PROVIDERS, WorkflowOptions, render
from grader.skeleton import BEGIN, END, MarkerError, make_skeleton
from grader.vendor import MIN_LINES, VendorError, build_wheel, solution_overlaps, vendor


class ReleaseError(click.ClickException):
    """The release cannot be made as asked (exit 2); the message says why and what to do."""

    exit_code = 2


def _env():
    import jinja2
    return jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates/release"),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def skeleton_for(exercise, source: Path) -> str:
    """The checked skeleton text of ``exercise`` from ``source/exercises``.

    Raises:
        ReleaseError: the skeleton is missing, holds solution markers, or is out of step with
            ``source/solutions``.
    """
    file = source / "exercises" / exercise.filename
    if not file.is_file():
        raise ReleaseError(f"{file} is missing: run `dlgrade skeletons` in {source} first")
    text = file.read_text(encoding="utf-8")
    if BEGIN in text or END in text:
        raise ReleaseError(f"{file} holds solution markers ({BEGIN!r}): it is not a skeleton")
    solution = source / "solutions" / exercise.filename
    if solution.is_file():
        sol_text = solution.read_text(encoding="utf-8")
        try:
            expected = make_skeleton(sol_text, str(solution))
        except MarkerError as exc:
            raise ReleaseError(str(exc)) from None
        if text != expected:
            raise ReleaseError(f"{file} is out of step with {solution}: run `dlgrade skeletons` "
                               "and review the difference before releasing")
        if text == sol_text:
            raise ReleaseError(f"{solution} has no solution block; refusing to release it as a "
                               "skeleton")
    return text


def checked_wheel(source: Path, out_dir: Path, notes: list[str]) -> Path:
    """Build the grader's wheel from ``source`` and open it: no ``solutions/`` file and no
    solution block of :data:`~grader.vendor.MIN_LINES` or more code lines may be inside.

    A shorter block found in the wheel is the formula itself, which the grader's oracle computes
    as well (ex01's two-line stable sigmoid): it is named in ``notes``, not refused.

    Raises:
        ReleaseError: the build failed, or the wheel holds solution code.
    """
    try:
        wheel = build_wheel(source, out_dir)
    except VendorError as exc:
        raise ReleaseError(f"{exc}\n(or release with --install SPEC: a published package or "
                           "git URL of the grader)") from None
    found = solution_overlaps(wheel, source / "solutions")
    leaks = [f for f in found if f["function"] is None or f["lines"] >= MIN_LINES]
    if leaks:
        raise ReleaseError("the grader's wheel holds solution code: " + "; ".join(
            f"{f['solution']} {f['function'] or ''} in {', '.join(f['found_in'])}".strip()
            for f in leaks) + ": move it out of grader/ before releasing")
    for f in found:
        notes.append(f"note: {f['function']}() of {f['solution']} is {f['lines']} line(s) the "
                     f"grader also computes ({', '.join(f['found_in'])}): a student can read it "
                     "in the installed grader")
    return wheel


def release(target: str | os.PathLike, source: str | os.PathLike = ".", exercises=None,
            provider: str = "github", workflow: WorkflowOptions | None = None,
            title: str = "Deep-learning building blocks", force: bool = False,
            notes: list[str] | None = None) -> list[Path]:
    """Write a student starter repository into ``target``.

    Args:
        target: the new repository's folder (created if needed).
        source: the course's dlgrade checkout (holds ``exercises/``, ``solutions/``, ``grader/``).
        exercises: the :class:`~grader.spec.Exercise` specs to release (default: all registered).
        provider: ``github`` or ``gitlab`` (the CI workflow written).
        workflow: options of the workflow (Python, Classroom, perf); with ``install`` set, that
            spec is installed and no wheel is vendored.
        title: the README's title.
        force: write into a non-empty ``target``.
        notes: a list that receives remarks for the instructor (see :func:`checked_wheel`).

    Returns:
        The files written, in order.

    Raises:
        ReleaseError: see :func:`skeleton_for` and :func:`checked_wheel`; the target is the
            source checkout, or is non-empty without ``force``; a written file holds a solution
            marker.
    """
    from grader.exercises import all_exercises
    src, dst = Path(source).resolve(), Path(target).resolve()
    if provider not in PROVIDERS:
        raise ReleaseError(f"unknown provider {provider!r}")
    if dst == src or src in dst.parents:
        raise ReleaseError(f"{target} is inside the course checkout {src}: release into a "
                           "separate folder")
    if dst.exists() and not dst.is_dir():
        raise ReleaseError(f"{target} exists and is not a folder")
    if dst.is_dir() and any(dst.iterdir()) and not force:
        raise ReleaseError(f"{target} is not empty; use --force to write the starter files "
                           "into it")
    exercises = list(exercises or all_exercises())
    if not exercises:
        raise ReleaseError("no exercises to release")
    workflow = workflow or WorkflowOptions()
    notes = notes if notes is not None else []
    files: dict[Path, str] = {}
    for ex in exercises:
        files[Path("exercises") / ex.filename] = skeleton_for(ex, src)
    written = []
    with tempfile.TemporaryDirectory(prefix="dlgrade-release-") as tmp:
        if not workflow.install:
            wheel = checked_wheel(src, Path(tmp), notes)
            dst.mkdir(parents=True, exist_ok=True)
            written += vendor(dst, wheel)
            workflow.vendored = written[0].relative_to(dst).as_posix()
        files[PROVIDERS[provider]] = render(provider, workflow)
    env = _env()
    from grader.config import ConfigError, apply, load
    try:  # the points of the course's own configuration (packaged into the wheel above)
        course = load(src / "dlgrade.toml" if (src / "dlgrade.toml").is_file() else None)
    except ConfigError as exc:
        raise ReleaseError(str(exc)) from None
    graded = apply(course, exercises)
    perf = course.perf is not False  # the course's perf = false: off locally and in CI alike
    points = {ex.id: judged_points(ex, perf=perf) for ex in graded}
    cuda_total = sum(judged_points(ex, cuda=True, perf=perf) - points[ex.id] for ex in graded)
    perf_total = 0.0 if workflow.perf or not perf else sum(
        points[ex.id] - judged_points(ex, perf=False) for ex in graded)
    files[Path("README.md")] = env.get_template("README.md.j2").render(
        title=title, exercises=exercises, provider=provider, classroom=workflow.classroom,
        version=__version__, workflow=workflow, install_spec=workflow.install_spec,
        points=points, torch_index=workflow.torch_index, cuda_total=cuda_total,
        perf_total=perf_total)
    files[Path("requirements.txt")] = env.get_template("requirements.txt.j2").render(
        install=workflow.install_spec, vendored=not workflow.install, torch=workflow.torch,
        torch_index=workflow.torch_index, extra_index_url=workflow.extra_index_url)
    files[Path(".gitignore")] = env.get_template("gitignore.j2").render()
    for rel, text in files.items():
        path = dst / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    leaked = [p for p in dst.rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb", ".md")
              and BEGIN in p.read_text(encoding="utf-8", errors="replace")]
    if leaked:
        raise ReleaseError("solution markers found in " + ", ".join(map(str, leaked))
                           + ": do not publish this folder")
    return written


def judged(check, *, cuda: bool, perf: bool) -> bool:
    """Whether ``dlgrade check`` judges ``check`` (else it is skipped and counts neither way):
    the ``cuda_*`` checks need ``--device cuda``, and ``--no-perf`` (or the course's
    ``perf = false``) skips every check of kind ``performance``."""
    return (cuda or not check.name.startswith("cuda_")) and (perf or check.kind != "performance")


def judged_points(exercise, *, cuda: bool = False, perf: bool = True) -> float:
    """The max_score ``dlgrade check`` reports for ``exercise`` (see :func:`judged`)."""
    return float(sum(c.points for c in exercise.checks if judged(c, cuda=cuda, perf=perf)))


@click.command("release")
@click.argument("student_repo_dir", type=click.Path(file_okay=False))
@click.option("--source", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The course's dlgrade checkout (with exercises/ and solutions/).")
@click.option("-e", "--exercise", "exercise_ids", multiple=True,
              help="Exercise to release (repeatable; default: all).")
@click.option("--provider", type=click.Choice(sorted(PROVIDERS)), default="github",
              show_default=True, help="CI service of the student repositories.")
@click.option("--install", default=None,
              help="pip requirement that installs dlgrade for students and CI (a published "
                   "package, a git URL) instead of vendoring the grader's wheel.")
@click.option("--extra-index-url", default="",
              help="A private package index holding the --install package (pip reads it too).")
@click.option("--classroom/--no-classroom", default=True, show_default=True,
              help="(github) report points to GitHub Classroom.")
@click.option("--perf/--no-perf", default=True, show_default=True,
              help="CI runs the performance checks (as `dlgrade check --all` does locally).")
@click.option("--title", default="Deep-learning building blocks", show_default=True,
              help="Title of the student README.")
@click.option("--force", is_flag=True, help="Write into a non-empty folder.")
def release_command(student_repo_dir, source, exercise_ids, provider, install, extra_index_url,
                    classroom, perf, title, force) -> None:
    """Write a student starter repository (skeletons, the grader's wheel, CI workflow, README;
    no solutions)."""
    from grader.exercises import UnknownExercise, resolve
    try:
        chosen = list(dict.fromkeys(resolve(e) for e in exercise_ids)) or None
    except UnknownExercise as exc:
        raise ReleaseError(exc.args[0]) from None
    notes: list[str] = []
    written = release(student_repo_dir, source, chosen, provider,
                      WorkflowOptions(install=install, extra_index_url=extra_index_url,
                                      classroom=classroom, perf=perf), title, force, notes)
    for path in written:
        click.echo(f"wrote {path}")
    for line in notes:
        click.echo(line)
    click.echo(f"starter repository ready in {student_repo_dir} ({len(written)} files, no "
               "solutions); commit it as the assignment's template")
