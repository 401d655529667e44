"""Forms of the customer pages: filtering runs, reviewing a deletion request, inviting users.

Staff console forms live with the console; these are only what a customer's users fill in.
"""

from __future__ import annotations

from typing import Any

from django import forms

from deletions.models import Membership
from deletions.requests.submission import MAX_REASON_LENGTH, RunFilter

# Typed by the requester before a large or "all runs" request is accepted.
CONFIRMATION_WORD = "DELETE"
# Above this many runs (or with scope "all") the confirmation word is required.
CONFIRM_WORD_THRESHOLD = 100


class RunFilterForm(forms.Form):
    """The filters, search and sort order of the parse-runs table (a GET form)."""

    class DeletionState:
        PRESENT = "present"
        PENDING = "pending"
        DELETED = "deleted"
        CHOICES = [
            ("", "Any"),
            (PRESENT, "Present"),
            (PENDING, "In an open request"),
            (DELETED, "Deleted"),
        ]

    SORTS = [
        ("-created", "Newest first"),
        ("created", "Oldest first"),
        ("file_name", "File name A to Z"),
        ("-file_name", "File name Z to A"),
    ]
    # Extend's parse-run statuses (EXTEND_API.md); free text is not needed here.
    STATUSES = [
        ("", "Any"),
        ("PROCESSED", "Processed"),
        ("PROCESSING", "Processing"),
        ("PENDING", "Pending"),
        ("FAILED", "Failed"),
    ]

    q = forms.CharField(label="File name contains", required=False, max_length=200)
    status = forms.ChoiceField(label="Extend status", choices=STATUSES, required=False)
    created_from = forms.DateField(
        label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    state = forms.ChoiceField(label="Deletion state", choices=DeletionState.CHOICES, required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORTS, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        return data

    def value(self, name: str) -> Any:
        """The cleaned value of *name*, or its empty value when the form is invalid."""
        if not self.is_valid():
            return self.fields[name].to_python(None) if name != "sort" else ""
        return self.cleaned_data.get(name) or ""

    def run_filter(self) -> RunFilter:
        """The part of the filter that submission understands (not deletion state or sort)."""
        if not self.is_valid():
            return RunFilter()
        data = self.cleaned_data
        return RunFilter(
            status=data.get("status") or "",
            file_name_contains=(data.get("q") or "").strip(),
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
        )

    def is_filtered(self) -> bool:
        """Whether any filter (not just a sort order) is applied."""
        if not self.is_valid():
            return False
        return any(
            self.cleaned_data.get(k) for k in ("q", "status", "created_from", "created_to", "state")
        )

    def query_params(self) -> dict[str, str]:
        """The non-empty filter values, for links that keep the current filter."""
        if not self.is_valid():
            return {}
        out: dict[str, str] = {}
        for key, value in self.cleaned_data.items():
            if value:
                out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out


class DeletionRequestForm(forms.Form):
    """The review step: why, whether it is a GDPR erasure, whether the uploaded documents go too,
    and the confirmation word."""

    reason = forms.CharField(
        label="Reason for the deletion",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. The operator's staff read this before approving.",
    )
    is_gdpr = forms.BooleanField(
        label="This is a GDPR erasure request (Art. 17)",
        required=False,
        help_text="Tick this if a data subject asked for their personal data to be erased.",
    )
    subject_ref = forms.CharField(
        label="Data subject's reference",
        required=False,
        max_length=200,
        help_text="Your reference for the person who asked (e.g. a ticket or customer number). "
        "Stored only as a keyed hash and a masked hint.",
    )
    erase_files = forms.BooleanField(
        label="Also erase the uploaded documents (files) when no other run uses them",
        required=False,
        help_text="A document another run still uses (one outside this request) is kept. "
        "GDPR erasure requests always erase the documents: the document is the personal data.",
    )
    confirmation = forms.CharField(label=f"Type {CONFIRMATION_WORD} to confirm", required=False)

    def __init__(
        self,
        *args: Any,
        needs_confirmation: bool = False,
        erase_files: bool = False,
        **kwargs: Any,
    ) -> None:
        """*erase_files*: the box's state before the requester touches it (the default rule)."""
        super().__init__(*args, **kwargs)
        self.needs_confirmation = needs_confirmation
        self.fields["erase_files"].initial = erase_files
        if not needs_confirmation:
            del self.fields["confirmation"]

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Please give a reason for the deletion.")
        return reason

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_gdpr") and not (data.get("subject_ref") or "").strip():
            self.add_error(
                "subject_ref", "A GDPR erasure request needs the data subject's reference."
            )
        if self.needs_confirmation:
            typed = (data.get("confirmation") or "").strip()
            if typed != CONFIRMATION_WORD:
                self.add_error(
                    "confirmation",
                    f"Type {CONFIRMATION_WORD} in capital letters to confirm this large deletion.",
                )
        return data


class InviteUserForm(forms.Form):
    """A customer admin invites a colleague; the e-mail address becomes the username."""

    email = forms.EmailField(label="E-mail address", max_length=150)
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    role = forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        help_text="Customer admins can invite and deactivate users and see everyone's requests.",
    )

    def clean_email(self) -> str:
        # Whether the address already has an account elsewhere is not the form's to say: the
        # team page answers the same either way (deletions/views/team.py).
        return str(self.cleaned_data["email"]).strip().lower()
