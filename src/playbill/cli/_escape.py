r"""Journal text made safe for a terminal: the one escaping function every renderer uses.

Goals, summaries, run ids, agent names, failure details and everything else
a journal holds may come from an agent or an imported file. Printed as it
is, an escape sequence in it could recolour the screen, move the cursor,
retitle the window or hide lines (CSI, OSC and the other C0 and C1
controls). ``printable`` shows each such character as a visible ``\xNN``
instead; tabs and newlines stay. ``SafeTable`` is a rich table whose cells
go through it, and never through rich's markup.
"""

from __future__ import annotations

import re
from typing import final

from rich.console import RenderableType
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and newline, DEL, and the C1 controls (8-bit CSI, OSC...)."""


def printable(text: str) -> str:
    r"""``text`` with every terminal control character but tab and newline shown as ``\xNN``.

    ESC (``\x1b``) starts every CSI and OSC sequence; escaped, the rest of
    the sequence is plain text. The result holds no control character, so
    escaping it again changes nothing.
    """
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda found: f"\\x{ord(found[0]):02x}", text)


def safe_cell(cell: RenderableType | None) -> RenderableType | None:
    """A table cell with its text escaped; a string becomes ``Text`` (no markup)."""
    if isinstance(cell, str):
        return Text(printable(cell))
    if isinstance(cell, Text) and _CONTROLS.search(cell.plain):
        return Text(printable(cell.plain), style=cell.style)
    return cell


@final
class SafeTable(Table):
    """A rich ``Table`` whose string and ``Text`` cells are escaped with ``printable``."""

    def add_row(
        self,
        *renderables: RenderableType | None,
        style: StyleType | None = None,
        end_section: bool = False,
    ) -> None:
        """Add a row, each cell escaped (see ``safe_cell``)."""
        super().add_row(
            *(safe_cell(cell) for cell in renderables), style=style, end_section=end_section
        )
