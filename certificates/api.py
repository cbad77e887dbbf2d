"""/api/certificates/: the learner's own certificates, and public verification by id."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from certificates import selectors
from certificates.models import Certificate
from learnpath.api.views import ERROR  # the one error shape of the whole API


class CertificatePathSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()


class VerifiedChallengeSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    best_score = serializers.FloatField(
        allow_null=True, help_text="The best score of a passing attempt, 0 to 1: the share of the grader's checks."
    )
    passed_at = serializers.DateTimeField(allow_null=True, help_text="When the first passing verdict was recorded.")


class PublicCertificateSerializer(serializers.Serializer):
    """What anyone holding the link may see: nothing about the learner but the name they chose."""

    public_id = serializers.CharField(help_text="The certificate's unguessable id, as in its verification URL.")
    valid = serializers.BooleanField(help_text="Always true here: an unknown or revoked id answers 404.")
    name = serializers.CharField(
        allow_null=True, help_text="The name the learner chose to print; null until they choose one."
    )
    path = CertificatePathSerializer()
    issued_at = serializers.DateTimeField()
    drops_completed = serializers.IntegerField()
    drops_total = serializers.IntegerField()
    challenges = VerifiedChallengeSerializer(
        many=True, help_text="Each code challenge passed, graded by running the learner's code in the sandbox."
    )
    verification_url = serializers.URLField()
    pdf_url = serializers.URLField(help_text="The certificate as a one-page A4 landscape PDF; anyone may download it.")


class OwnCertificateSerializer(PublicCertificateSerializer):
    valid = serializers.BooleanField(help_text="False once the certificate has been revoked.")
    name_chosen = serializers.BooleanField(help_text="Whether the learner has chosen the printed name (only once).")
    revoked_at = serializers.DateTimeField(allow_null=True)


def _data(request, certificate: Certificate, *, own: bool) -> dict:
    data = {
        "public_id": certificate.public_id,
        "valid": certificate.is_valid,
        "name": certificate.name if certificate.name_chosen else None,
        "path": {"slug": certificate.path.slug, "title": certificate.path.title},
        "issued_at": certificate.issued_at,
        "drops_completed": certificate.drops_completed,
        "drops_total": certificate.drops_total,
        "challenges": certificate.challenges,
        "verification_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "pdf_url": request.build_absolute_uri(reverse("certificate-pdf", kwargs={"public_id": certificate.public_id})),
    }
    if own:
        return OwnCertificateSerializer(
            {**data, "name_chosen": certificate.name_chosen, "revoked_at": certificate.revoked_at}
        ).data
    return PublicCertificateSerializer(data).data


class CertificateListApi(APIView):
    @extend_schema(
        responses={200: OwnCertificateSerializer(many=True), 401: OpenApiResponse(ERROR)},
        tags=["certificates"],
        summary="Your certificates of completion, newest first",
        description=(
            "A certificate is issued once per path, when every drop is completed, every code challenge of "
            "the path has passed and, on a path ending in the plan worksheet, a complete distillation plan is "
            "saved. Revoked ones are listed with valid=false."
        ),
    )
    def get(self, request):
        certificates = selectors.certificates_for(user=request.user)
        return Response([_data(request, certificate, own=True) for certificate in certificates])


class CertificateVerifyApi(APIView):
    """Public: whoever holds the link may verify it, so who is asking is never looked at."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[OpenApiParameter("public_id", str, OpenApiParameter.PATH, description="The certificate's id.")],
        responses={
            200: PublicCertificateSerializer,
            404: OpenApiResponse(ERROR, description="No valid certificate has this id (unknown, or revoked)."),
        },
        auth=[],
        tags=["certificates"],
        summary="Verify a certificate: public, no sign-in needed",
    )
    def get(self, request, public_id: str):
        certificate = selectors.certificate_lookup(public_id=public_id)
        if certificate is None:
            raise NotFound("No certificate has this id.")
        if not certificate.is_valid:
            raise NotFound("This certificate has been revoked and is no longer valid.")
        return Response(_data(request, certificate, own=False))
