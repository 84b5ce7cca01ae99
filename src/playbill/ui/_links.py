"""Where a page links to: the server's URLs, or anchors inside one report file."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote, urlencode


class Links(Protocol):
    """Makes the targets of a page's links."""

    def run(self, run_id: str) -> str:
        """The run's page."""
        ...

    def attempt(self, run_id: str, step: str, attempt: int) -> str:
        """An attempt's page."""
        ...

    def entry(self, run_id: str, seq: int) -> str:
        """An entry in the history."""
        ...

    def time(self, run_id: str, seq: int) -> str:
        """The run's state at a seq."""
        ...


class ServerLinks:
    """The web view's URLs (each page has a stable one)."""

    def run(self, run_id: str) -> str:
        """``/runs/RUN``."""
        return f"/runs/{quote(run_id, safe='')}"

    def attempt(self, run_id: str, step: str, attempt: int) -> str:
        """``/runs/RUN/steps/STEP/attempts/N``."""
        return f"{self.run(run_id)}/steps/{quote(step, safe='')}/attempts/{attempt}"

    def entry(self, run_id: str, seq: int) -> str:
        """``/runs/RUN/history?around=SEQ#e-SEQ``: the page of the history holding it."""
        return f"{self.run(run_id)}/history?{urlencode({'around': seq})}#e-{seq}"

    def time(self, run_id: str, seq: int) -> str:
        """``/runs/RUN/time?seq=SEQ``."""
        return f"{self.run(run_id)}/time?{urlencode({'seq': seq})}"


def anchor_id(*parts: object) -> str:
    """An HTML id made of the parts (anything outside ``[A-Za-z0-9_-]`` percent-quoted)."""
    return "-".join(quote(str(part), safe="").replace("%", "_") for part in parts)


class ReportLinks:
    """Anchors within one report file (``playbill report``)."""

    def run(self, run_id: str) -> str:
        """The top of the report."""
        return "#run"

    def attempt(self, run_id: str, step: str, attempt: int) -> str:
        """The attempt's section."""
        return "#" + anchor_id("attempt", step, attempt)

    def entry(self, run_id: str, seq: int) -> str:
        """The entry's row in the history section."""
        return f"#e-{seq}"

    def time(self, run_id: str, seq: int) -> str:
        """The entry's row (a report has no time travel)."""
        return f"#e-{seq}"
