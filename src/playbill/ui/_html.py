"""HTML built by escaping everything by default.

``Html`` is a ``str`` known to be markup. ``html(template, *values)`` fills a
``str.format`` template with its values, each escaped unless it is ``Html``
already; ``join`` joins pieces the same way. Nothing that came from a journal
(an agent's output, a goal, a file name) can reach a page as markup: it is
text until someone wraps it in ``Html``, and only this package's templates do.
"""

from __future__ import annotations

import html as _stdlib_html
from collections.abc import Iterable
from typing import final


@final
class Html(str):
    """A string that is markup: inserted into a template as it is."""

    __slots__ = ()


def escape(value: object) -> Html:
    """``value`` as markup: ``Html`` as it is, anything else as escaped text (quotes too)."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(_stdlib_html.escape(str(value), quote=True))


def html(template: str, *values: object, **named: object) -> Html:
    """Fill ``template`` (``str.format`` syntax) with escaped values.

    The template itself is trusted markup; every value is escaped unless it
    is ``Html``. Format specs are not allowed (a value is formatted before it
    is escaped, not after): format numbers into strings first.
    """
    return Html(
        template.format(*(escape(v) for v in values), **{k: escape(v) for k, v in named.items()})
    )


def join(pieces: Iterable[object], separator: str = "") -> Html:
    """The pieces, each escaped unless ``Html``, joined by ``separator`` (trusted markup)."""
    return Html(separator.join(escape(piece) for piece in pieces))
