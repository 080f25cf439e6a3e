"""The grader a student repository carries: a wheel built from the course checkout, no solutions.

``dlgrade release`` (and ``dlgrade ci init --source COURSE``) build the course's own dlgrade as a
wheel and vendor it into the student repository as ``.dlgrade/dlgrade-<version>-py3-none-any.whl``
with ``.dlgrade/SHA256SUMS`` (``sha256sum`` format, paths relative to the repository root). The
CI workflow checks the wheel with ``sha256sum --check --strict .dlgrade/SHA256SUMS`` before
installing it, so an edited copy fails the job at the install step with a line naming the file.
No package index has to hold the grader.

The wheel is built from a copy of the checkout (``pyproject.toml``, ``README.md``, ``LICENSE*``
and ``grader/``; never ``solutions/``, ``exercises/`` or ``autotests/``) with
``pip wheel --no-deps --no-build-isolation`` and ``SOURCE_DATE_EPOCH`` fixed, so the same
checkout gives the same bytes. The course's ``dlgrade.toml``, if there is one, is validated and
packaged as ``grader/course/dlgrade.toml``: the configuration every installed copy grades with
(:data:`grader.config.PACKAGED`), whatever configuration file the student's repository holds.

:func:`solution_overlaps` opens a built wheel and looks for the code of every solution block
(``### BEGIN SOLUTION`` ... ``### END SOLUTION`` in ``solutions/*.py``) in every file inside.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VENDOR_DIR = Path(".dlgrade")
SUMS = VENDOR_DIR / "SHA256SUMS"
#: Timestamp of every file in the wheel (1980-01-01, the earliest a zip file can hold).
EPOCH = "315532800"
#: A solution block of at least this many code lines found in the wheel refuses the release;
#: shorter ones are the formula itself, which the grader's oracles compute too (reported).
MIN_LINES = 3
_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION", re.M | re.S)
_DEF = re.compile(r"^def (\w+)\(", re.M)


class VendorError(Exception):
    """The wheel cannot be built or vendored; ``str()`` says why and what to do."""


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def build_wheel(source: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Build the grader of the course checkout ``source`` as a wheel in ``out_dir``.

    Returns:
        The wheel's path (``dlgrade-<version>-py3-none-any.whl``).

    Raises:
        VendorError: no ``pyproject.toml``/``grader/`` in ``source``, an invalid ``dlgrade.toml``,
            or the build failed (the message ends with pip's last lines).
    """
    src = Path(source).resolve()
    if not (src / "pyproject.toml").is_file() or not (src / "grader").is_dir():
        raise VendorError(f"{src} is not a dlgrade checkout (no pyproject.toml and grader/): run "
                          "in the course's dlgrade checkout, or give --install SPEC")
    config = src / "dlgrade.toml"
    if config.is_file():
        from grader.config import ConfigError, load
        try:
            load(config)
        except ConfigError as exc:
            raise VendorError(f"the course configuration is invalid: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="dlgrade-wheel-") as tmp:
        copy = Path(tmp) / "src"
        copy.mkdir()
        for name in ["pyproject.toml", "README.md", *(p.name for p in src.glob("LICENSE*"))]:
            if (src / name).is_file():
                shutil.copy2(src / name, copy / name)
        shutil.copytree(src / "grader", copy / "grader", ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "course"))
        if config.is_file():
            (copy / "grader" / "course").mkdir()
            shutil.copy2(config, copy / "grader" / "course" / "dlgrade.toml")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        built = Path(tmp) / "dist"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
             "--wheel-dir", str(built), str(copy)],
            capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH},
            timeout=600)
        wheels = sorted(built.glob("dlgrade-*.whl")) if built.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            raise VendorError(f"building the grader's wheel failed (pip wheel, exit "
                              f"{proc.returncode}; setuptools must be installed):\n{tail}")
        target = out / wheels[0].name
        shutil.copy2(wheels[0], target)
    return target


def solution_overlaps(wheel: str | os.PathLike, solutions: str | os.PathLike) -> list[dict]:
    """Every solution block whose code appears, line for line, in a file of ``wheel``.

    Args:
        wheel: a built wheel. solutions: the folder of the reference solutions.

    Returns:
        ``[{"solution": "ex01_sigmoid.py", "function": "sigmoid", "lines": 2,
        "found_in": [files...]}, ...]``; a block is compared by its code lines (stripped,
        comments and blank lines dropped) as one contiguous run. A ``solutions/`` file inside
        the wheel is reported as ``{"solution": path, "function": None, "lines": 0, ...}``.
    """
    with zipfile.ZipFile(wheel) as zf:
        files = {n: _code_lines(zf.read(n).decode("utf-8", "replace")) for n in zf.namelist()
                 if not n.endswith("/")}
    found = [{"solution": n, "function": None, "lines": 0, "found_in": [n]}
             for n in files if n.startswith("solutions/") or "/solutions/" in n]
    for sol in sorted(Path(solutions).glob("*.py")):
        text = sol.read_text(encoding="utf-8", errors="replace")
        for m in _BLOCK.finditer(text):
            block = _code_lines(m.group(1))
            if not block:
                continue
            defs = _DEF.findall(text[: m.start()])
            where = [n for n, lines in files.items() if any(
                lines[i:i + len(block)] == block for i in range(len(lines) - len(block) + 1))]
            if where:
                found.append({"solution": sol.name, "function": defs[-1] if defs else None,
                              "lines": len(block), "found_in": where})
    return found


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def vendor(repo: str | os.PathLike, wheel: str | os.PathLike) -> list[Path]:
    """Copy ``wheel`` into ``repo/.dlgrade/`` (replacing any older wheel there) and write
    ``repo/.dlgrade/SHA256SUMS``.

    Returns:
        The two files written (the wheel, then SHA256SUMS).
    """
    root = Path(repo)
    folder = root / VENDOR_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("dlgrade-*.whl"):
        if old.name != Path(wheel).name:
            old.unlink()
    target = folder / Path(wheel).name
    if Path(wheel).resolve() != target.resolve():
        shutil.copyfile(wheel, target)
    rel = (VENDOR_DIR / target.name).as_posix()
    (root / SUMS).write_text(f"{sha256(target)}  {rel}\n", encoding="utf-8")
    return [target, root / SUMS]


def vendored(repo: str | os.PathLike) -> str | None:
    """The repository-relative path of the wheel vendored in ``repo`` (POSIX), or None.

    Raises:
        VendorError: ``.dlgrade/`` holds several wheels, or a wheel without SHA256SUMS.
    """
    wheels = sorted((Path(repo) / VENDOR_DIR).glob("dlgrade-*.whl"))
    if not wheels:
        return None
    if len(wheels) > 1:
        raise VendorError(f"{Path(repo) / VENDOR_DIR} holds {len(wheels)} wheels; keep one")
    if not (Path(repo) / SUMS).is_file():
        raise VendorError(f"{Path(repo) / SUMS} is missing: vendor the wheel again "
                          "(dlgrade ci init --source COURSE_CHECKOUT --force)")
    return (VENDOR_DIR / wheels[0].name).as_posix()
