"""Student-controlled text made fit for every report: valid Unicode, bounded length.

Messages quote what a student's code raised or printed, which may hold any code point (lone
surrogates included, which no UTF-8 file or terminal can hold) and any length. :func:`bounded`
is applied to every check's message and output when the result is made, so every report (the
terminal, JSON, JUnit, Gradescope, the step summary, batch rows) holds at most
:data:`MAX_MESSAGE_CHARS` per message; the terminal shows at most :data:`TERMINAL_MESSAGE_CHARS`.
Each report then escapes for its own format (terminal escapes, XML 1.0, markdown/HTML).
"""
from __future__ import annotations

import re

#: Most characters of one check's message (or captured output) kept in any report; the rest is
#: cut with a note saying how much.
MAX_MESSAGE_CHARS = 20_000

#: Most characters of one message the terminal report prints (the JSON report holds the rest up
#: to :data:`MAX_MESSAGE_CHARS`).
TERMINAL_MESSAGE_CHARS = 2_000

_SURROGATE = re.compile("[\ud800-\udfff]")


def bounded(text, limit: int = MAX_MESSAGE_CHARS, where: str | None = None) -> str:
    """``text`` as a str of valid code points (lone surrogates become U+FFFD), cut to ``limit``
    characters with a note ``[... N more characters cut by dlgrade]`` (``; see <where>`` when
    the full text is kept elsewhere).

    Args:
        text: any object (a non-str is shown with ``str``, or a placeholder when that raises).
        limit: most characters kept. where: where the full text is, for the note.
    """
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:  # noqa: BLE001 - any object a forged answer may carry
            text = "<a value that cannot be shown>"
    text = _SURROGATE.sub("\ufffd", text)
    if len(text) <= limit:
        return text
    see = f"; see {where}" if where else ""
    return text[:limit] + f"\n[... {len(text) - limit:,} more characters cut by dlgrade{see}]"
