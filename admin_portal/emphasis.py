"""Our own wording to HTML, for guides and diagnoses alike: the text is escaped first, then
`**label**` becomes <strong> and `` `value` `` becomes <code>. The texts are ours, but
escaping first keeps the rule that nothing reaches a page unescaped; what an IdP sent never
comes here (it goes through plain autoescaping)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_STRONG = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`(.+?)`")


def emphasize(text: str) -> Markup:
    html = str(escape(text))
    html = _STRONG.sub(r"<strong>\1</strong>", html)
    html = _CODE.sub(r"<code>\1</code>", html)
    return Markup(html)  # noqa: S704 - escaped above; only our two tags are added
