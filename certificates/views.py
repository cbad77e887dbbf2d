"""Certificate pages: the learner's own (printable, with a share link) and the public verification page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from certificates import selectors, services
from certificates.forms import CertificateNameForm
from learnpath.models import Enrollment

logger = logging.getLogger(__name__)


def _entries(request, forms: dict | None = None) -> list[dict]:
    """Each enrolled path with the learner's certificate for it, or how far they are towards one."""
    forms = forms or {}
    certificates = {certificate.path_id: certificate for certificate in selectors.certificates_for(user=request.user)}
    entries = []
    for enrollment in Enrollment.objects.filter(user=request.user).select_related("path").order_by("enrolled_at"):
        certificate = certificates.pop(enrollment.path_id, None)
        entries.append(_entry(request, enrollment.path, certificate, forms))
    # A certificate outlives leaving the path: it is still shown.
    entries += [_entry(request, c.path, c, forms) for c in certificates.values()]
    return entries


def _entry(request, path, certificate, forms: dict) -> dict:
    if certificate is None:
        requirements = selectors.certificate_requirements(user=request.user, path=path)
        return {"path": path, "certificate": None, "requirements": requirements}
    return {
        "path": path,
        "certificate": certificate,
        "share_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "form": forms.get(certificate.public_id) or CertificateNameForm(initial={"name": request.user.username}),
    }


@login_required
def certificate_list(request):
    return render(request, "certificates/certificate_list.html", {"entries": _entries(request)})


@login_required
@require_POST
def certificate_name(request, public_id: str):
    certificate = selectors.certificate_of(user=request.user, public_id=public_id)
    if certificate is None:
        raise Http404("No certificate of yours has this id.")
    form = CertificateNameForm(request.POST)
    if form.is_valid():
        try:
            services.certificate_name_set(certificate=certificate, name=form.cleaned_data["name"])
        except services.CertificateNameError as error:
            if error.code == "invalid":
                form.add_error("name", error.message)
            else:  # already chosen, or revoked: the page shows no form to put the message on
                messages.error(request, error.message)
        else:
            messages.success(request, "Your name is on your certificate. You can print it or share its link now.")
            return redirect("certificates")
    context = {"entries": _entries(request, forms={certificate.public_id: form})}
    return render(request, "certificates/certificate_list.html", context, status=400)


def certificate_verify(request, public_id: str):
    """Anyone may open this, signed in or not: it shows what was verified and nothing else about the learner."""
    certificate = selectors.certificate_lookup(public_id=public_id)
    if certificate is None or not certificate.is_valid:
        context = {"revoked": certificate is not None, "revoked_at": certificate.revoked_at if certificate else None}
        return render(request, "certificates/certificate_invalid.html", context, status=404)
    context = {
        "certificate": certificate,
        "share_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "is_holder": request.user.is_authenticated and request.user.pk == certificate.user_id,
    }
    return render(request, "certificates/certificate_verify.html", context)


def certificate_download(request, public_id: str):
    """The certificate as a one-page A4 landscape PDF. Public like the verification page, whose URL it prints."""
    from certificates.pdf import CertificateFontMissing, certificate_pdf

    certificate = selectors.certificate_lookup(public_id=public_id)
    if certificate is None or not certificate.is_valid:
        context = {"revoked": certificate is not None, "revoked_at": certificate.revoked_at if certificate else None}
        return render(request, "certificates/certificate_invalid.html", context, status=404)
    verification_url = request.build_absolute_uri(certificate.get_absolute_url())
    try:
        pdf = certificate_pdf(certificate=certificate, verification_url=verification_url)
    except CertificateFontMissing as error:
        logger.error("certificate PDF not made: %s", error)
        context = {"certificate": certificate, "share_url": verification_url}
        return render(request, "certificates/certificate_pdf_unavailable.html", context, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="learnpath-certificate-{certificate.path.slug}.pdf"'
    response["Cache-Control"] = "no-cache"  # a revoked certificate must stop downloading at once
    response["X-Robots-Tag"] = "noindex"
    return response
