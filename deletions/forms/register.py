"""The filters of the register of erasure requests (console page and its exports)."""

from __future__ import annotations

from typing import Any

from django import forms

from deletions.gdpr.register import Filters
from deletions.models import Customer


class RegisterFilterForm(forms.Form):
    received_from = forms.DateField(
        required=False,
        label="Received from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    received_to = forms.DateField(
        required=False,
        label="Received to",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Both days included.",
    )
    customer = forms.ModelChoiceField(
        required=False, queryset=Customer.objects.all(), empty_label="All customers"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise forms.ValidationError("The period ends before it starts.")
        return data

    def filters(self) -> Filters:
        """The register's filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return Filters(
            received_from=data.get("received_from"),
            received_to=data.get("received_to"),
            customer=data.get("customer"),
        )
