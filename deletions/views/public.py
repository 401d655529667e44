"""The public erasure form (no sign-in): a data subject asks one customer to erase their data.

Every valid submission gets the same answer, whatever the reference: the page reveals nothing
about whether any data exists. Valid submissions are throttled per client address and per e-mail
address (``deletions.accounts.throttle``: cache counters over an hour); an invalid one costs
nothing, so no one can close the form for others by posting junk. The e-mailed link shows a
confirmation page on GET; only POST verifies, once.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from deletions.accounts import throttle
from deletions.gdpr import intake
from deletions.models import Customer

THROTTLE_SCOPE = "gdpr-intake"
MAX_REFERENCE_LENGTH = 200

TOKEN_PROBLEMS = {
    "expired": (
        "This link has expired",
        "Verification links work for a limited time. Submit the form again to get a new one.",
    ),
    "used": (
        "This link has already been used",
        "Your e-mail address was already confirmed with this link; nothing more is needed. "
        "If you did not confirm it, submit the form again.",
    ),
    "invalid": (
        "This link is not valid",
        "The link may be incomplete: copy the whole address from the e-mail, or submit the "
        "form again.",
    ),
}


class ErasureForm(forms.Form):
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        help_text="We send a link to confirm that this address is yours.",
    )
    reference = forms.CharField(
        label="Your reference",
        max_length=MAX_REFERENCE_LENGTH,
        help_text="The identifier this organisation knows you by, e.g. a customer or patient "
        "number.",
    )

    wants_recipients = forms.BooleanField(
        label="Tell me who my data was disclosed to",
        required=False,
        help_text="When your data is erased, the confirmation we send you lists everyone it "
        "was shared with who we informed of the erasure (GDPR Art. 19).",
    )

    def clean_reference(self) -> str:
        value = str(self.cleaned_data["reference"]).strip()
        if not value.isprintable():
            raise forms.ValidationError("Use printable characters only.")
        return value


def _throttled(request: HttpRequest, customer: Customer) -> HttpResponse:
    return throttle.too_many(request, "public/throttled.html", {"customer": customer})


def erasure_index(request: HttpRequest) -> HttpResponse:
    """``/erasure/`` alone: each company has its own form. The page says where to find it and
    does not list the companies (who the operator's customers are is not public)."""
    return render(request, "public/erasure_index.html")


@require_http_methods(["GET", "POST"])
def erasure_form(request: HttpRequest, slug: str) -> HttpResponse:
    customer = get_object_or_404(Customer, slug=slug, is_active=True)
    form = ErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        address = form.cleaned_data["email"]
        if throttle.client_over_limit(
            THROTTLE_SCOPE, request, settings.GDPR_INTAKE_LIMIT_PER_IP
        ) or throttle.email_over_limit(
            THROTTLE_SCOPE, address, settings.GDPR_INTAKE_LIMIT_PER_EMAIL
        ):
            return _throttled(request, customer)
        intake.create_intake(
            customer,
            email=address,
            reference=form.cleaned_data["reference"],
            wants_recipients=form.cleaned_data["wants_recipients"],
        )
        return redirect("public:sent", slug=customer.slug)
    return render(request, "public/erasure_form.html", {"customer": customer, "form": form})


def erasure_sent(request: HttpRequest, slug: str) -> HttpResponse:
    customer = get_object_or_404(Customer, slug=slug, is_active=True)
    return render(
        request,
        "public/erasure_sent.html",
        {"customer": customer, "hours": settings.GDPR_VERIFICATION_MAX_AGE_SECONDS // 3600},
    )


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = intake.intake_for_token(token)
        if request.method == "POST":
            found = intake.verify_intake(token)
            return render(
                request, "public/verified.html", {"customer": found.customer, "intake": found}
            )
    except intake.TokenInvalid as problem:
        title, explanation = TOKEN_PROBLEMS[problem.reason]
        return render(
            request,
            "public/link_problem.html",
            {"title": title, "explanation": explanation},
            status=410 if problem.reason in ("expired", "used") else 400,
        )
    return render(
        request,
        "public/verify_confirm.html",
        {"customer": found.customer, "intake": found},
    )
