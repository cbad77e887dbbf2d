"""How long a drop takes, measured from its files by one rule that authors and the check share.

A drop's minutes are its core text read, its demos tried and its recall cards answered once:

- prose (headings, paragraphs, lists, quotes): 225 words a minute;
- a code block: 5 seconds a line, blank lines free (code is read token by token, not skimmed);
- a table: its cells' words at the prose rate, plus 3 seconds a row to find one's way along it;
- an embedded demo (``[[demo:name]]``): 90 seconds;
- a recall card: 30 seconds, or its words (prompt, choices, answer, explanation) at the prose rate when
  that is longer: a card with a paragraph of explanation takes as long as the paragraph.

A drop may end with a ``## Go deeper`` section: derivations, further evidence and side paths that the
reader opens on request. It is not counted; its words are reported beside the estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

WORDS_PER_MINUTE = 225
SECONDS_PER_CODE_LINE = 5
SECONDS_PER_TABLE_ROW = 3
SECONDS_PER_DEMO = 90
SECONDS_PER_CARD = 30
DEEPER_HEADING = "Go deeper"

_DEEPER = re.compile(rf"^## {DEEPER_HEADING}[ \t]*$", re.M)
_H2 = re.compile(r"^## ", re.M)
_FENCE = re.compile(r"^(```|~~~)")
_DEMO = re.compile(r"^\s*\[\[demo:[^\]]*\]\]\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_LINK = re.compile(r"\]\([^)]*\)")  # a link's target is not read
_WORD = re.compile(r"[^\s|*_#>`\-–—=]+")


@dataclass(frozen=True)
class ReadingEstimate:
    prose_words: int = 0
    code_lines: int = 0
    table_words: int = 0
    table_rows: int = 0
    demos: int = 0
    cards: int = 0
    card_seconds: float = 0.0
    deeper_words: int = 0

    @property
    def reading_seconds(self) -> float:
        """The core text: prose, code and tables."""
        words = self.prose_words + self.table_words
        return (
            60 * words / WORDS_PER_MINUTE
            + SECONDS_PER_CODE_LINE * self.code_lines
            + SECONDS_PER_TABLE_ROW * self.table_rows
        )

    @property
    def demo_seconds(self) -> float:
        return SECONDS_PER_DEMO * self.demos

    @property
    def seconds(self) -> float:
        return self.reading_seconds + self.demo_seconds + self.card_seconds

    @property
    def minutes(self) -> float:
        return self.seconds / 60

    def as_dict(self) -> dict:
        """What the database keeps (Drop.reading_estimate) and the API serves."""
        return {
            **asdict(self),
            "minutes": round(self.minutes, 1),
            "reading_minutes": round(self.reading_seconds / 60, 1),
            "demo_minutes": round(self.demo_seconds / 60, 1),
            "card_minutes": round(self.card_seconds / 60, 1),
        }

    def describe(self) -> str:
        """One line: 'text 3.1 min (620 words, 4 code lines, 2 table rows), 1 demo 1.5, 4 cards 2.1; ...'."""
        text = [f"{self.prose_words + self.table_words} words"]
        if self.code_lines:
            text.append(_count(self.code_lines, "code line"))
        if self.table_rows:
            text.append(_count(self.table_rows, "table row"))
        parts = [f"text {self.reading_seconds / 60:.1f} min ({', '.join(text)})"]
        if self.demos:
            parts.append(f"{_count(self.demos, 'demo')} {self.demo_seconds / 60:.1f}")
        parts.append(f"{_count(self.cards, 'card')} {self.card_seconds / 60:.1f}")
        line = ", ".join(parts)
        if self.deeper_words:
            line += f"; {DEEPER_HEADING}: {self.deeper_words} words, not counted"
        return line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def split_deeper(body: str) -> tuple[str, str]:
    """(core, deeper): the text before the ``## Go deeper`` heading and the section itself ('' if none)."""
    match = _DEEPER.search(body)
    if match is None:
        return body, ""
    return body[: match.start()], body[match.end() :]


def deeper_problem(body: str) -> str | None:
    """Why the Go deeper section is misplaced, or None: there is at most one, and it is the last section."""
    found = _DEEPER.findall(body)
    if len(found) > 1:
        return f"more than one '## {DEEPER_HEADING}' section"
    _, deeper = split_deeper(body)
    if deeper and _H2.search(deeper):
        return f"'## {DEEPER_HEADING}' must be the last section: move the sections after it above it"
    return None


def words_in(text: str) -> int:
    return len(_WORD.findall(_LINK.sub("]", text)))


def card_seconds(texts: Iterable[str]) -> float:
    """One card: 30 s, or its words at the prose rate when that is longer."""
    return max(SECONDS_PER_CARD, 60 * sum(words_in(t) for t in texts) / WORDS_PER_MINUTE)


def _measure(text: str) -> tuple[int, int, int, int, int]:
    """(prose words, code lines, table words, table rows, demos) of Markdown ``text``."""
    prose = code = table_words = table_rows = demos = 0
    in_code = False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            in_code = not in_code
            continue
        if in_code:
            code += bool(line.strip())
        elif _DEMO.match(line):
            demos += 1
        elif line.lstrip().startswith("|"):
            if not _TABLE_RULE.match(line):
                table_rows += 1
                table_words += words_in(line)
        else:
            prose += words_in(line)
    return prose, code, table_words, table_rows, demos


def estimate(body: str, cards: Iterable[Iterable[str]] = ()) -> ReadingEstimate:
    """Measure ``body`` (Markdown) and ``cards`` (each card's texts) by the module's rule."""
    core, deeper = split_deeper(body)
    prose, code, table_words, table_rows, demos = _measure(core)
    deeper_prose, _, deeper_table_words, _, _ = _measure(deeper)
    seconds = [card_seconds(texts) for texts in cards]
    return ReadingEstimate(
        prose_words=prose,
        code_lines=code,
        table_words=table_words,
        table_rows=table_rows,
        demos=demos,
        cards=len(seconds),
        card_seconds=round(sum(seconds), 1),
        deeper_words=deeper_prose + deeper_table_words,
    )
