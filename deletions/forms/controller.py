"""Forms of the controller's confirmation step and of Art. 19 recipients (and the rules the API
checks its bodies with): a decision on an intake with its reason, the purpose a staff member
gives to see an intake's clear values, a customer's recipient, a recipient informed of an
erasure."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from deletions.gdpr.controller import MAX_REASON_LENGTH
from deletions.models import Recipient


class ConfirmForm(forms.Form):
    reason = forms.CharField(
        label="How you checked that this person is your data subject",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: the reference and the e-mail address match our customer record.",
    )


class OnBehalfConfirmForm(forms.Form):
    reason = forms.CharField(
        label="Why you confirm on the customer's behalf",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: the customer's DPO confirmed by phone; who, and when.",
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label="Why you cannot confirm this person",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail. The person is told only that you could not confirm "
        "them.",
    )


class RevealForm(forms.Form):
    purpose = forms.CharField(
        label="Why you need the clear reference and e-mail address",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail with your name.",
    )


class RecipientForm(forms.ModelForm[Recipient]):
    class Meta:
        model = Recipient
        fields = ["name", "contact", "means"]
        labels = {"means": "How they are informed"}


class InformedForm(forms.Form):
    recipient = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    informed_on = forms.DateField(
        label="Informed on", widget=forms.DateInput(attrs={"type": "date"})
    )
    means = forms.CharField(label="By", max_length=200)

    def clean_informed_on(self) -> date:
        value: date = self.cleaned_data["informed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date informed cannot be in the future.")
        return value
