"""Cancelling a request: a GDPR erasure request needs a reason (the data subject is told it);
a standard one may give one. The customer pages, the console and the API use these."""

from __future__ import annotations

from django import forms

from deletions.requests.transitions import CANCEL_REASON_REQUIRED


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional; kept in the request's history.",
    )


class GdprCancelForm(CancelForm):
    """A GDPR erasure request: the reason is required (the domain refuses without one too)."""

    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why is it cancelled?",
        help_text="Required. Staff see it on the request; the data subject is told it by "
        "e-mail if they gave an address on the public form.",
        error_messages={"required": CANCEL_REASON_REQUIRED},
    )


def cancel_form_for(is_gdpr: bool, data: object = None) -> CancelForm:
    return (GdprCancelForm if is_gdpr else CancelForm)(data)  # type: ignore[arg-type]
