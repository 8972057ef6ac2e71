"""Text that came from the input, made safe to show on a terminal.

A class name, a kept value or a key is data: an escape sequence in it (OSC 52
writes the clipboard, ``ESC[2J`` clears the screen) must be shown, not
obeyed.  Control characters become ``\\x1b``-style escapes; everything else,
any script or emoji, is shown as written.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls; tab and newline too, since a name is one line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """``text`` with every control character written as a ``\\xNN`` escape."""
    return _CONTROL.sub(_escape, text)
