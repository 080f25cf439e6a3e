"""The JUnit XML report (``dlgrade check --junit-xml FILE``), written with ``junitparser``.

Layout (the Ant/Surefire "JUnit XML" dialect that pytest writes with ``junit_family=xunit2`` and
that GitLab, Jenkins and the GitHub test-report actions read; valid against the Jenkins xUnit
plugin's ``junit-10.xsd``, which allows no ``skipped`` count on ``<testsuites>``):

    <testsuites name="dlgrade" tests= failures= errors= time=>
      <testsuite name="ex01 sigmoid" tests= failures= errors= skipped= time= timestamp= hostname=>
        <properties>  score, max_score, seed, device, path, dlgrade_version  </properties>
        <testcase classname="dlgrade.ex01_sigmoid" name="sigmoid_values (2 pts)" time="0.012">
          <failure type="fail" message="0/2 points: sigmoid returned ...">full message</failure>
          <system-out>score 0/2 points · kind value · ...</system-out>
        </testcase>

One testcase per check. Points are visible in three places: the testcase name carries the check's
points (stable from run to run, so CI test histories line up), the failure message starts with
``score/max points``, and each testcase's ``system-out`` and each suite's ``properties`` hold
the numbers. Status mapping: ``fail`` -> ``<failure>``, ``error`` (the student's code raised,
hung, crashed) -> ``<error>``, ``skip`` -> ``<skipped>``.

Every student-controlled string goes through :func:`grader.report.terminal.neutralise` (CI tools
print failure messages into logs) and then :func:`xml_safe` (XML 1.0 cannot hold most control
characters, lone surrogates or U+FFFE/U+FFFF).
"""
from __future__ import annotations

import datetime as _dt
import io
import os
import re
import socket

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from grader import __version__
from grader.report.terminal import neutralise
from grader.results import Report

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Longest message kept in a ``message`` attribute (the element text holds the full message).
MESSAGE_ATTR_CHARS = 300


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry replaced by ``\\uXXXX`` (or ``\\xNN``).

    Args:
        text: any str (student exception messages may hold lone surrogates).

    Returns:
        A str that ElementTree can serialise as UTF-8 and any XML parser can read back.
    """
    return _XML_INVALID.sub(lambda m: (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                       else f"\\u{ord(m.group()):04x}"), text)


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_points(exercise_id: str, check_name: str, fallback: float) -> float:
    """The points a check is worth in its spec (a skipped check reports ``max_score`` 0).

    Falls back to ``fallback`` when the exercise or check is not registered (an old report).
    """
    try:
        from grader.exercises import resolve
        for c in resolve(exercise_id).checks:
            if c.name == check_name:
                return float(c.points)
    except Exception:  # noqa: BLE001 - reporting must not fail on a registry problem
        pass
    return float(fallback)


def build(report: Report, timestamp: _dt.datetime | None = None) -> JUnitXml:
    """The :class:`junitparser.JUnitXml` tree of ``report``.

    Args:
        report: the graded :class:`~grader.results.Report`.
        timestamp: when the run happened (default: now, UTC); written as ISO 8601.

    Returns:
        A ``JUnitXml`` with one ``TestSuite`` per exercise and one ``TestCase`` per check.
    """
    stamp = (timestamp or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0).isoformat()
    host = socket.gethostname()
    root = JUnitXml("dlgrade")
    suites = []
    for ex in report.exercises:
        suite = TestSuite(xml_safe(f"{ex.id} {ex.name}"))
        suite.timestamp = stamp
        suite.hostname = xml_safe(host)
        for key, value in (("score", _fmt(ex.score)), ("max_score", _fmt(ex.max_score)),
                           ("seed", str(report.seed)), ("device", report.device),
                           ("path", ex.path), ("dlgrade_version", __version__)):
            suite.add_property(key, xml_safe(neutralise(str(value))))
        cases = []
        for c in ex.checks:
            points = c.max_score if c.status != "skip" else check_points(ex.id, c.name, c.max_score)
            case = TestCase(f"{c.name} ({_fmt(points)} pts)", f"dlgrade.{ex.id}_{ex.name}",
                            round(c.duration_s, 3))
            message = xml_safe(neutralise(c.message))
            first = message.split("\n", 1)[0]
            if c.status == "fail" or c.status == "error":
                head = f"{_fmt(c.score)}/{_fmt(c.max_score)} points: {first}"
                cls = Failure if c.status == "fail" else Error
                result = cls(head[:MESSAGE_ATTR_CHARS], c.status)
                result.text = message
                case.result = [result]
            elif c.status == "skip":
                case.result = [Skipped(first[:MESSAGE_ATTR_CHARS] or "skipped", "skip")]
            out = f"score {_fmt(c.score)}/{_fmt(c.max_score)} points · kind {c.kind} · status {c.status}"
            if c.description:
                out += "\n" + xml_safe(neutralise(c.description))
            if c.output:
                out += "\nyour code printed:\n" + xml_safe(neutralise(c.output))
            case.system_out = out
            cases.append(case)
        suite.add_testcases(cases)
        root.add_testsuite(suite)
        suites.append((suite, ex))
    root.update_statistics()
    # update_statistics sums the checks' times; the exercise's wall time (process start included)
    # is the truer figure when the engine measured it.
    for suite, ex in suites:
        if ex.duration_s:
            suite.time = round(ex.duration_s, 3)
    root.time = round(sum(s.time for s, _ in suites), 3)
    # junit-10.xsd (the Jenkins xUnit plugin's schema, which pytest's writer follows) has no
    # ``skipped`` on <testsuites>; each <testsuite> keeps its own count.
    root._elem.attrib.pop("skipped", None)
    return root


def to_string(report: Report) -> str:
    """The JUnit XML document of ``report`` (pretty-printed, with a UTF-8 XML declaration)."""
    buf = io.BytesIO()
    build(report).write(buf, pretty=True)
    return buf.getvalue().decode("utf-8")


def write(report: Report, path: str | os.PathLike) -> None:
    """Write the JUnit XML of ``report`` to ``path`` atomically, replacing (never following)
    whatever is there (:func:`grader.files.write_report_file`).

    Raises:
        OSError: the file cannot be written.
    """
    from grader.files import write_report_file
    write_report_file(path, to_string(report))
