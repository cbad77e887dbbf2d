"""The certificate as a downloadable PDF: one A4 landscape page, public like the verification page."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from certificates import services
from certificates.models import Certificate
from learnpath import services as learnpath_services
from tests.certificates.factories import all_but_last_drop, grade, path_challenges
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
A4_LANDSCAPE_POINTS = (841.89, 595.28)


@pytest.fixture
def certificate(learner, enrolled, django_capture_on_commit_callbacks) -> Certificate:
    last = all_but_last_drop(learner, enrolled)
    with django_capture_on_commit_callbacks(execute=True):
        for challenge, score in zip(path_challenges(enrolled), (0.95, 1.0, 0.875), strict=True):
            grade(learner, challenge, score=score)
        response = api_client_for(learner).post(f"/api/drops/{last.pk}/complete/", {"seconds_spent": 300})
        assert response.status_code == 201, response.content
    return Certificate.objects.get(user=learner, path=enrolled)


def download(certificate: Certificate, client: Client | None = None):
    return (client or Client()).get(f"/certificates/{certificate.public_id}.pdf")


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, " ".join(reader.pages[0].extract_text().split())


def test_anyone_downloads_one_a4_landscape_page_with_everything_verified(certificate, enrolled):
    certificate = services.certificate_name_set(certificate=certificate, name="Grace Hopper")
    response = download(certificate)  # signed out
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="learnpath-certificate-{enrolled.slug}.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", response.content)) == 1

    reader, text = pdf_text(response.content)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_POINTS, abs=1)
    assert "CERTIFICATE OF COMPLETION" in text
    assert "Grace Hopper" in text and enrolled.title in text
    assert f"Issued {certificate.issued_at.strftime('%-d %B %Y')}" in text
    assert "All 14 of 14 daily drops completed, and 3 code challenges passed" in text
    for challenge, score in zip(path_challenges(enrolled), ("95%", "100%", "88%"), strict=True):
        assert f"{challenge.title} {score}" in text
    url = f"http://testserver/certificates/{certificate.public_id}/"
    assert url in text  # printed in full
    assert f"/URI ({url})".encode() in response.content  # and a link
    assert reader.metadata.title == f"Certificate of completion: {enrolled.title}"
    assert b"DroidSansFallback" not in response.content  # a font for other scripts only where the text needs it


def test_the_url_is_built_from_the_requests_host(certificate, settings):
    settings.ALLOWED_HOSTS = ["learn.example.org"]
    response = Client().get(f"/certificates/{certificate.public_id}.pdf", HTTP_HOST="learn.example.org", secure=True)
    assert f"https://learn.example.org/certificates/{certificate.public_id}/" in pdf_text(response.content)[1]


@pytest.mark.parametrize("name", ["Zoë Ωmega 李", "Сергей Прокофьев", "Nguyễn Thị Minh Khai", "W" * 100])
def test_names_in_any_script_and_of_any_length_print_on_one_page(certificate, name):
    certificate = services.certificate_name_set(certificate=certificate, name=name)
    response = download(certificate)
    assert response.status_code == 200
    reader, text = pdf_text(response.content)
    assert len(reader.pages) == 1
    assert name in text.replace(" ", "") or name in text
    assert (b"DroidSansFallback" in response.content) == ("李" in name)  # DejaVu Sans has no Chinese


def embedded_glyphs(content: bytes) -> set[str]:
    """The glyph names of every font subset embedded in the page."""
    glyphs: set[str] = set()
    for font in PdfReader(io.BytesIO(content)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        if "/DescendantFonts" not in font:
            continue  # Courier, a standard font: nothing embedded
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        glyphs |= set(TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data())).getGlyphOrder())
    return glyphs


@pytest.mark.parametrize("name", ["דוד בן־גוריון", "مريم الشامي", "Ada محمد Lovelace", ("عبد الرحمن " * 9).strip()])
def test_right_to_left_names_print_in_reading_order(certificate, name):
    certificate = services.certificate_name_set(certificate=certificate, name=name)
    response = download(certificate)
    assert response.status_code == 200
    # Laid out right to left, the name reads back in its own order (unshaped, it read back reversed).
    reader, text = pdf_text(response.content)
    assert len(reader.pages) == 1  # a long one wraps, right to left, within the page
    assert name.replace(" ", "") in text.replace(" ", "")


def test_arabic_letters_are_joined(certificate):
    certificate = services.certificate_name_set(certificate=certificate, name="محمد")
    glyphs = embedded_glyphs(download(certificate).content)
    # Meem at the start of a word takes its initial form and dal its final one, not the isolated letters.
    assert {"uniFEE3", "uniFEAA"} <= glyphs
    assert not {"uni0645", "uni062F"} & glyphs


def test_latin_names_are_not_shaped(certificate):
    certificate = services.certificate_name_set(certificate=certificate, name="Grace Hopper")
    # Plain left-to-right text is set glyph by glyph, so the font keeps its own glyph names.
    assert {"G", "H", "r", "p"} <= embedded_glyphs(download(certificate).content)


def test_before_a_name_is_chosen_it_says_so(certificate, learner):
    _, text = pdf_text(download(certificate).content)
    assert "Name not yet chosen by the holder" in text and learner.username not in text


def test_revoked_and_unknown_ids_answer_404(certificate):
    assert Client().get("/certificates/AAAAAAAAAAAAAAAAAAAAAA.pdf").status_code == 404
    services.certificate_revoke(certificate=certificate, reason="copied solutions")
    response = download(certificate)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "This certificate is not valid" in response.content.decode()


def test_a_missing_font_answers_503_with_a_clear_message(certificate, settings, caplog):
    settings.CERTIFICATE_FONT = "/nonexistent/DejaVuSans.ttf"
    response = download(certificate)
    assert response.status_code == 503
    html = response.content.decode()
    assert "The PDF cannot be made right now" in html
    assert f"/certificates/{certificate.public_id}/" in html  # the certificate itself is still verifiable
    assert any("fonts-dejavu-core" in record.getMessage() for record in caplog.records)


def test_both_pages_offer_the_download(certificate, learner):
    link = f'href="/certificates/{certificate.public_id}.pdf"'
    browser = Client()
    browser.force_login(learner)
    assert link in browser.get("/certificates/").content.decode()
    assert link in Client().get(f"/certificates/{certificate.public_id}/").content.decode()


def test_another_learners_pdf_is_the_public_certificate_only(certificate, make_user):
    """The PDF is public like the verification page: it carries nothing the public page does not."""
    other = make_user("mallory")
    learnpath_services.enrollment_create(user=other, path=certificate.path)
    browser = Client()
    browser.force_login(other)
    _, text = pdf_text(download(certificate, browser).content)
    assert certificate.user.username not in text and "mallory" not in text


def test_making_a_pdf_imports_no_torch():
    """Web processes stay torch-free: fpdf2 and its fonts are all a download loads."""
    script = (
        "import django, sys; django.setup()\n"
        "from types import SimpleNamespace as N\n"
        "from django.utils import timezone\n"
        "from certificates.pdf import certificate_pdf\n"
        "c = N(name='Ada', name_chosen=True, path=N(title='P', slug='p'), drops_completed=1, drops_total=1,\n"
        "      issued_at=timezone.now(), challenges=[{'title': 'C', 'best_score': 1.0}])\n"
        "assert certificate_pdf(certificate=c, verification_url='http://x/certificates/a/').startswith(b'%PDF')\n"
        "assert not [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.test", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
