"""Forms of the GDPR pages of the console (and the rules the API checks its bodies with): a
scope for an intake, a request filed on a data subject's behalf, a deadline extension or pause,
dismissing an intake."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from deletions.core.errors import DomainError
from deletions.models import Customer
from deletions.requests.submission import clean_run_ids


class ScopeForm(forms.Form):
    run_ids = forms.CharField(
        label="Parse-run ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Leave empty to take every run whose metadata carries the subject's reference; "
        "or list run ids, one per line or separated by commas.",
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="GDPR Art. 17 erasure request from the data subject.",
    )

    def clean_run_ids(self) -> list[str]:
        raw = str(self.cleaned_data.get("run_ids") or "").replace(",", "\n").split()
        try:
            return clean_run_ids(raw)
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from exc


class OnBehalfForm(ScopeForm):
    customer = forms.ModelChoiceField(queryset=Customer.objects.filter(is_active=True))
    reference = forms.CharField(
        label="Data subject's reference",
        max_length=200,
        help_text="Stored only as a keyed hash and a masked hint.",
    )
    received_on = forms.DateField(
        label="Date received",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Day one of the one-month deadline.",
    )

    field_order = ["customer", "reference", "received_on", "run_ids", "reason"]

    def clean_received_on(self) -> Any:
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date received cannot be in the future.")
        return value


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label="Extend by",
        choices=[(1, "One month"), (2, "Two months")],
        coerce=int,
    )
    reason = forms.CharField(
        label="Reason (sent to the data subject)",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the request is complex or numerous enough to need more time.",
    )


class DismissForm(forms.Form):
    note = forms.CharField(label="Why it is dismissed", widget=forms.Textarea(attrs={"rows": 2}))


class PauseForm(forms.Form):
    reason = forms.CharField(
        label="What you are waiting for from the data subject",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: a copy of the account number, to confirm their identity.",
    )
    ask_subject = forms.BooleanField(
        label="E-mail the data subject this request, with a link to answer",
        required=False,
        help_text="Using the link resumes the deadline automatically.",
    )
