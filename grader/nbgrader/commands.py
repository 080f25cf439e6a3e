"""The ``dlgrade nbgrader`` commands: ``build`` (source notebooks), ``autograde`` (nbgrader's
autograde without a kernel, the default grading path) and ``regrade`` (audit a gradebook).

Thin: parse, call :mod:`grader.nbgrader.build`, :mod:`grader.nbgrader.autograde` or
:mod:`grader.nbgrader.gradebook`, print. nbgrader and nbformat are imported only when a command
runs (they are the ``[nbgrader]`` extra).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from grader import __version__


def _usage(message: str):
    from grader.cli import UsageFailure
    return UsageFailure(message)


@click.group("nbgrader")
def nbgrader_group() -> None:
    """Hand out the exercises as nbgrader assignments (needs `pip install dlgrade[nbgrader]`)."""


@nbgrader_group.command("build")
@click.argument("course_dir", type=click.Path(file_okay=False))
@click.argument("exercise_ids", nargs=-1)
@click.option("--solutions", default="solutions", show_default=True,
              type=click.Path(file_okay=False), help="Folder of the reference solutions.")
@click.option("--course-id", default="dlgrade", show_default=True,
              help="nbgrader's CourseDirectory.course_id.")
@click.option("--hidden", "hidden", multiple=True, metavar="[EX:]CHECK",
              help="Hide a check's test code from students (nbgrader's hidden tests); "
                   "EX:* hides all of an exercise's checks. Repeatable.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Bake a fixed seed into the test cells (default: a fresh seed per grading run).")
@click.option("--perf", is_flag=True, help="Include the performance checks.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Device of the torch exercises' checks.")
@click.option("--exchange", default=None, help="Exchange.root to write into nbgrader_config.py.")
@click.option("--no-probe", is_flag=True,
              help="Do not grade the reference solutions first (then checks that would be "
                   "skipped here, e.g. CUDA checks on a CPU, are not left out).")
def nbgrader_build(course_dir, exercise_ids, solutions, course_id, hidden, seed, perf, device,
                   exchange, no_probe) -> None:
    """Write COURSE_DIR/nbgrader_config.py and source/<exNN_slug>/<exNN_slug>.ipynb for
    EXERCISE_IDS (default: every exercise)."""
    from grader.cli import _resolve_exercises
    from grader.exercises import all_exercises
    exercises = _resolve_exercises(exercise_ids, False) if exercise_ids else all_exercises()
    if not Path(solutions).is_dir():
        raise _usage(f"--solutions {solutions}: no such folder (run this in the dlgrade "
                     "repository or give the folder of the reference solutions)")
    for sel in hidden:
        ex_part, _, check_name = sel.rpartition(":")
        if ex_part:
            _resolve_exercises((ex_part,), False)
        known = {c.name for e in exercises for c in e.checks}
        if check_name != "*" and check_name not in known:
            raise _usage(f"--hidden {sel}: no check named {check_name!r}")
    try:
        import nbformat  # noqa: F401
    except ImportError:
        raise _usage("dlgrade nbgrader needs nbformat and nbgrader: "
                     "pip install 'dlgrade[nbgrader]'") from None
    from grader.nbgrader.build import BuildError, Options as BuildOptions, build_course
    opts = BuildOptions(course_id=course_id, hidden=tuple(hidden), seed=seed, perf=perf,
                        device=device, exchange=exchange, probe=not no_probe)
    notes: list[str] = []
    try:
        written = build_course(course_dir, exercises, solutions, opts, notes)
    except BuildError as exc:
        raise _usage(str(exc)) from None
    for line in notes:
        click.echo(line)
    for f in written:
        click.echo(f"wrote {f}")
    first = Path(written[1]).parent.name if len(written) > 1 else "EXNN"
    click.echo(f"next: cd {course_dir} && nbgrader generate_assignment {first}; after collecting: "
               f"dlgrade nbgrader autograde . {first}")


@nbgrader_group.command("autograde")
@click.argument("course_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("assignment")
@click.option("--student", "students", multiple=True, metavar="ID",
              help="Grade only this student's submission (repeatable; default: every one).")
@click.option("--force", is_flag=True, help="Grade again submissions already autograded.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
              help="Seed of the random inputs (default: the test cells' own, else fresh).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Device of the torch exercises' checks (the test cells' own device wins).")
@click.option("--allow-unconfined", is_flag=True,
              help="Grade even where student code cannot be kept from the course folder "
                   "(not root and no Landlock): student code can then write what you can.")
@click.option("--config", "config_path", default=None, metavar="FILE",
              help="dlgrade's course configuration for the limits and device (default: "
                   "$DLGRADE_CONFIG, else COURSE_DIR/dlgrade.toml); never a submission's.")
def nbgrader_autograde(course_dir, assignment, students, force, seed, device,
                       allow_unconfined, config_path) -> None:
    """nbgrader's autograde with dlgrade's isolated runner in place of the Jupyter kernel.

    Grades each submission in COURSE_DIR/submitted/<student>/ASSIGNMENT/, writes
    autograded/<student>/ASSIGNMENT/ and the gradebook's scores and comments through nbgrader's
    API; `nbgrader generate_feedback` and `nbgrader export` then work as usual. No student code
    runs in a kernel. Exit status: 0 every submission graded; 1 nbgrader could not autograde
    some; 2 wrong use."""
    try:
        from grader.nbgrader.autograde import autograde, confinement
    except ImportError:
        raise _usage("dlgrade nbgrader needs nbgrader: pip install 'dlgrade[nbgrader]'") from None
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    how = confinement()
    if how is None and not allow_unconfined:
        raise _usage("cannot keep student code from the course folder here: dlgrade is not "
                     "root (no other user to run it as) and this kernel has no Landlock; "
                     "run as root or in a container, or pass --allow-unconfined")
    console.print(f"dlgrade {__version__}: autograding {assignment} in {course_dir} without a "
                  "kernel; "
                  f"{how or 'student code is NOT confined (--allow-unconfined)'}", markup=False)
    import dataclasses

    from grader.config import ConfigError, load
    from grader.discovery import discover
    from grader.exercises import all_exercises
    from grader.runner.process import Limits
    if not (Path(course_dir) / "submitted").is_dir():
        raise _usage(f"{course_dir} has no submitted/ folder: collect the submissions first "
                     "(nbgrader collect, zip_collect, or submitted/<student>/<assignment>/)")
    try:  # the course folder's file; the students' folders under submitted/ are never read
        found = discover(Path(course_dir) / "submitted", cwd=course_dir, explicit=config_path,
                         repository=False)
        course = load(found.file)
    except ConfigError as exc:
        raise _usage(str(exc)) from None
    if found.file is not None:
        console.print(found.notice(), markup=False, soft_wrap=True)
    limits = {e.id: dataclasses.replace(course.limits.get(e.id, Limits()), confine_writes=True)
              for e in all_exercises()}
    results, failures = autograde(course_dir, assignment, students=students, force=force,
                                  seed=seed, device=device, limits=limits)
    for r in results:
        console.print(f"{escape(r['student'])}: {r['score']:g}/{r['max_score']:g}")
    for f in failures:
        console.print(f"error: {f}", markup=False)
    console.print(f"{len(results)} submission(s) of {assignment} in the gradebook; next: "
                  f"cd {course_dir} && nbgrader generate_feedback {assignment} && nbgrader export",
                  markup=False)
    sys.exit(1 if failures else 0)


@nbgrader_group.command("regrade")
@click.argument("course_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("assignment")
@click.option("--apply", is_flag=True,
              help="Write dlgrade's points into the gradebook as manual scores where they differ.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed of the random inputs (default: the test cells' own, else fresh).")
@click.option("--db", "db_url", default=None,
              help="Gradebook URL (default: sqlite:///COURSE_DIR/gradebook.db).")
def nbgrader_regrade(course_dir, assignment, apply, seed, db_url) -> None:
    """Grade every submission of ASSIGNMENT outside any Jupyter kernel (the tamper-proof grade)
    and compare it, test cell by test cell, with nbgrader's gradebook.

    Exit status: 0 the gradebook agrees with dlgrade (or --apply made it agree); 1 some cell
    differs; 2 wrong use."""
    try:
        from grader.nbgrader.gradebook import regrade
    except ImportError:
        raise _usage("dlgrade nbgrader needs nbgrader: pip install 'dlgrade[nbgrader]'") from None
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)

    def progress(audit):
        mark = "[green]agrees[/green]" if audit.agrees else "[bold red]differs[/bold red]"
        console.print(f"{escape(audit.student)}: nbgrader {audit.nbgrader:g}, dlgrade "
                      f"{audit.dlgrade:g} / {sum(c.max_score for c in audit.cells):g}  {mark}")
        for c in audit.cells:
            if not c.agrees:
                was = "none" if c.nbgrader is None else f"{c.nbgrader:g}"
                done = " -> written as manual score" if c.applied else ""
                console.print(f"    {escape(c.grade_id)}: nbgrader {was}, dlgrade {c.dlgrade:g}"
                              f"/{c.max_score:g}{done}")

    try:
        audits = regrade(course_dir, assignment, db_url=db_url, seed=seed, apply=apply,
                         progress=progress)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    differ = [a for a in audits if not a.agrees]
    console.print(f"{len(audits)} submission(s) of {escape(assignment)}; {len(differ)} differ"
                  + (" (dlgrade's points written; run `nbgrader export`)" if apply and differ else ""))
    sys.exit(1 if differ and not apply else 0)
