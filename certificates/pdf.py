"""The certificate as a PDF: one A4 landscape page, drawn with fpdf2 in a Unicode TrueType font.

The name is printed in DejaVu Sans (Debian's ``fonts-dejavu-core``), which covers Latin, Greek, Cyrillic and
many other scripts; characters it lacks, such as Chinese or Japanese, come from the fallback fonts
(Debian's ``fonts-droid-fallback``), loaded only for such text and where installed. Text in a script
written right to left (Hebrew, Arabic) or built from combining marks is laid out by HarfBuzz (uharfbuzz):
put in visual order, its letters joined and its marks placed. The verification URL is printed in Courier,
one of the PDF's standard fonts, and is also a link on the page.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

from django.conf import settings
from django.utils import dateformat, timezone

from certificates.models import Certificate

PAGE_WIDTH, PAGE_HEIGHT = 297, 210  # A4 landscape, in millimetres
TEXT_WIDTH = 240
INK = (24, 32, 44)
MUTED = (92, 102, 116)
ACCENT = (37, 99, 235)
NAME_SIZES = range(34, 17, -2)  # points: the largest at which the name fits on one line, else lines at 18

# fontTools reports each subsetting step at INFO: one download would otherwise log a dozen lines.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class CertificateFontMissing(RuntimeError):
    """The font the certificate is printed in is not installed; the message names the file and the package."""


def _font_files() -> tuple[Path, Path, list[Path]]:
    regular = Path(settings.CERTIFICATE_FONT)
    if not regular.is_file():
        raise CertificateFontMissing(
            f"The certificate font {regular} is missing: install Debian's fonts-dejavu-core "
            "(make system-deps does) or set CERTIFICATE_FONT to a TrueType font file."
        )
    bold = Path(settings.CERTIFICATE_FONT_BOLD)
    fallbacks = [Path(name) for name in settings.CERTIFICATE_FALLBACK_FONTS if Path(name).is_file()]
    return regular, bold if bold.is_file() else regular, fallbacks


def certificate_pdf(*, certificate: Certificate, verification_url: str) -> bytes:
    """The certificate as it is printed: holder's name, path, date, challenges with scores, verification URL.

    Raises CertificateFontMissing when the font is not installed.
    """
    from fpdf import FPDF  # imported here: only a download needs it, not every web process at start-up

    regular, bold, fallbacks = _font_files()
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # one page, always: the layout below is sized to fit
    pdf.set_margins(28, 20, 28)
    pdf.add_font("certificate", "", str(regular))
    pdf.add_font("certificate", "B", str(bold))
    printed = certificate.name + certificate.path.title + "".join(c["title"] for c in certificate.challenges)
    covered = set(pdf.fonts["certificate"].cmap) & set(pdf.fonts["certificateB"].cmap)
    if any(ord(char) not in covered for char in printed if not char.isspace()):
        # Loaded only when needed: parsing a large fallback font takes longer than drawing the page.
        for number, fallback in enumerate(fallbacks):
            pdf.add_font(f"fallback{number}", "", str(fallback))
        if fallbacks:
            pdf.set_fallback_fonts([f"fallback{number}" for number in range(len(fallbacks))], exact_match=False)
    if any(_needs_shaping(char) for char in printed):
        pdf.set_text_shaping(True)  # only then: shaping every certificate would cost time for nothing
    title = f"Certificate of completion: {certificate.path.title}"
    pdf.set_title(title)
    pdf.set_author("learnpath")
    pdf.set_subject(f"Verify at {verification_url}")
    pdf.set_creator("learnpath")
    pdf.add_page()

    _frame(pdf)
    pdf.set_y(28)
    _line(pdf, "learnpath", size=15, style="B", color=ACCENT, height=8)
    pdf.set_char_spacing(1.6)
    _line(pdf, "CERTIFICATE OF COMPLETION", size=11, color=MUTED, height=8)
    pdf.set_char_spacing(0)
    pdf.ln(8)
    if certificate.name_chosen:
        _name(pdf, certificate.name)
    else:
        _line(pdf, "Name not yet chosen by the holder", size=20, color=MUTED, height=16)
    pdf.ln(3)
    _line(pdf, "completed the learning path", size=13, color=MUTED, height=8)
    pdf.ln(1)
    pdf.set_font("certificate", "B", 20)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 10, certificate.path.title, align="C")
    pdf.ln(4)
    pdf.set_font("certificate", "", 11)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 6, _detail(certificate), align="C")
    pdf.ln(4)
    _challenges(pdf, certificate.challenges)
    _footer(pdf, certificate, verification_url)
    return bytes(pdf.output())


def _needs_shaping(char: str) -> bool:
    """Right-to-left letters need reordering (and Arabic joining); combining marks need placing."""
    return unicodedata.bidirectional(char) in ("R", "AL", "AN") or unicodedata.category(char) in ("Mn", "Mc")


def _frame(pdf) -> None:
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.8)
    pdf.rect(10, 10, PAGE_WIDTH - 20, PAGE_HEIGHT - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, PAGE_WIDTH - 26, PAGE_HEIGHT - 26)


def _line(pdf, text: str, *, size: float, height: float, style: str = "", color=INK) -> None:
    pdf.set_font("certificate", style, size)
    pdf.set_text_color(*color)
    pdf.cell(0, height, text, align="C", new_x="LMARGIN", new_y="NEXT")


def _name(pdf, name: str) -> None:
    pdf.set_text_color(*INK)
    for size in NAME_SIZES:
        pdf.set_font("certificate", "B", size)
        if pdf.get_string_width(name) <= TEXT_WIDTH:
            pdf.cell(0, size * 0.5, name, align="C", new_x="LMARGIN", new_y="NEXT")
            return
    pdf.multi_cell(0, 9, name, align="C")  # a long name (up to 100 characters): at most three lines at 18 points


def _detail(certificate: Certificate) -> str:
    text = f"All {certificate.drops_completed} of {certificate.drops_total} daily drops completed"
    count = len(certificate.challenges)
    if count:
        text += (
            f", and {count} code challenge{'s' if count != 1 else ''} passed, graded by running the holder's own "
            "code in an isolated sandbox and checking its results on hidden inputs"
        )
    return text + "."


def _score(challenge: dict) -> str:
    score = challenge.get("best_score")
    return "passed" if score is None else f"{round(score * 100)}%"


def _challenges(pdf, challenges: list[dict]) -> None:
    if not challenges:
        return
    left = (PAGE_WIDTH - 190) / 2
    pdf.set_draw_color(200, 205, 212)
    pdf.set_line_width(0.2)
    for challenge in challenges:
        pdf.set_x(left)
        pdf.set_font("certificate", "", 11.5)
        pdf.set_text_color(*INK)
        pdf.cell(160, 7.5, challenge["title"], border="B")
        pdf.set_font("certificate", "B", 11.5)
        pdf.cell(30, 7.5, _score(challenge), border="B", align="R", new_x="LMARGIN", new_y="NEXT")


def _footer(pdf, certificate: Certificate, verification_url: str) -> None:
    issued = dateformat.format(timezone.localtime(certificate.issued_at), "j F Y")
    pdf.set_y(PAGE_HEIGHT - 44)
    _line(pdf, f"Issued {issued}", size=10.5, color=MUTED, height=6)
    _line(pdf, "Anyone can check this certificate at", size=10.5, color=MUTED, height=6)
    # Courier, a standard PDF font, in full at a size that keeps the longest URL on one line.
    # A host name outside ASCII cannot be set in Courier's encoding: it gets the certificate's own font.
    font, size = ("Courier" if verification_url.isascii() else "certificate"), 10.0
    pdf.set_font(font, "", size)
    while pdf.get_string_width(verification_url) > PAGE_WIDTH - 40 and size > 6:
        size -= 0.5
        pdf.set_font(font, "", size)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 6, verification_url, align="C", link=verification_url, new_x="LMARGIN", new_y="NEXT")
