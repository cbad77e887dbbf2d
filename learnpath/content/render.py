"""Markdown to sanitized HTML for lessons and FAQ answers."""

from __future__ import annotations

import re
from collections.abc import Callable

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i", "li", "ol", "p",
    "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul", "dl", "dt", "dd",
    "details", "summary", "kbd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
    "abbr": {"title"},
}
# The drop's last section, '## Go deeper', folds away: the reader opens it on request (reading_time does not count
# it). Wrapped after sanitizing, like the regions below, so content cannot write <details> attributes of its own.
GO_DEEPER = re.compile(r'<h2 id="(?P<id>go-deeper[^"]*)">Go deeper</h2>')
DEMO_MARKER = re.compile(r"<p>\[\[demo:(?P<name>[a-z-]+)\]\]</p>")
KNOWN_DEMOS = {"temperature", "pipeline"}  # each has its script, stylesheet and page entry in drops/demos.py
DROP_LINK = re.compile(r"\]\(drop:(?P<slug>[a-z0-9-]+)(?:#(?P<anchor>[a-z0-9-]+))?\)")
SECTION = re.compile(r'<h2 id="(?P<id>[^"]+)">(?P<title>.*?)</h2>')
TAG = re.compile(r"<[^>]+>")
# Code blocks and tables scroll sideways on a narrow screen: each is a named region that Tab reaches, so keyboard
# users can scroll it (axe: scrollable-region-focusable). Added after sanitizing, where <pre> and <table> carry no
# attribute of the content's.
SCROLLABLE = (
    ("<pre>", '<pre tabindex="0" role="region" aria-label="Code">'),
    ("<table>", '<div class="table-scroll" tabindex="0" role="region" aria-label="Table"><table>'),
    ("</table>", "</table></div>"),
)


def render_markdown(text: str, resolve_drop: Callable[[str], str | None] | None = None) -> str:
    """Render ``text``; ``resolve_drop(slug)`` turns ``drop:slug`` links into URLs."""
    if resolve_drop is not None:

        def replace(match: re.Match) -> str:
            url = resolve_drop(match["slug"]) or "#"
            anchor = f"#{match['anchor']}" if match["anchor"] else ""
            return f"]({url}{anchor})"

        text = DROP_LINK.sub(replace, text)
    html = markdown.markdown(
        text,
        extensions=["fenced_code", "tables", "sane_lists", "toc", "smarty"],
        extension_configs={"toc": {"permalink": False, "toc_depth": "2-3"}},
        output_format="html",
    )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    for plain, focusable in SCROLLABLE:
        clean = clean.replace(plain, focusable)
    clean = _fold_go_deeper(clean)
    # Demos are inserted after sanitizing, and only from a fixed list: content cannot inject markup.
    return DEMO_MARKER.sub(_demo_html, clean)


def _fold_go_deeper(html: str) -> str:
    match = GO_DEEPER.search(html)
    if match is None:
        return html
    return (
        f'{html[: match.start()]}<details class="go-deeper" data-go-deeper><summary><h2 id="{match["id"]}">Go deeper'
        '</h2> <span class="go-deeper-note">optional, not in the minutes</span></summary>'
        f"{html[match.end() :]}</details>"
    )


def _demo_html(match: re.Match) -> str:
    name = match["name"]
    if name not in KNOWN_DEMOS:
        return ""
    return f'<div class="{name}-demo" data-demo="{name}"></div>'


def sections_of(html: str) -> list[dict[str, str]]:
    return [{"id": m["id"], "title": TAG.sub("", m["title"])} for m in SECTION.finditer(html)]


def drop_links_in(text: str) -> list[tuple[int, str]]:
    """(line number starting at 1, slug) for every ``drop:slug`` link in ``text``."""
    return [(text.count("\n", 0, match.start()) + 1, match["slug"]) for match in DROP_LINK.finditer(text)]


def demos_in(text: str) -> list[tuple[int, str]]:
    return [
        (text.count("\n", 0, m.start()) + 1, m["name"]) for m in re.finditer(r"\[\[demo:(?P<name>[^\]]*)\]\]", text)
    ]
