"""Forms of the console's legal-hold pages: placing a hold and lifting one."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone

from deletions.models import Customer, LegalHold, ParseRun, Workspace

# A hold on listed runs names at most this many (larger sets: hold the customer or workspace).
MAX_RUN_IDS = 5_000
# How many unknown run ids an error message quotes before saying "and N more".
QUOTED_UNKNOWN = 10


def parse_run_ids(text: str) -> list[str]:
    """Run ids from a textarea: one a line, or separated by commas, semicolons or spaces;
    duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for token in re.split(r"[\s,;]+", text):
        if token:
            seen.setdefault(token, None)
    return list(seen)


class PlaceHoldForm(forms.Form):
    scope = forms.ChoiceField(
        label="What the hold covers",
        choices=LegalHold.Scope.choices,
        widget=forms.RadioSelect,
        initial=LegalHold.Scope.CUSTOMER,
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.order_by("name"),
        required=False,
        empty_label="Choose a customer",
        help_text="Every parse run of this customer, in every workspace.",
    )
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.order_by("name"),
        required=False,
        empty_label="Choose a workspace",
        help_text="Every parse run in this workspace, of every customer.",
    )
    run_workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.order_by("name"),
        required=False,
        empty_label="Choose the runs' workspace",
        label="Workspace of the runs",
    )
    run_ids = forms.CharField(
        required=False,
        label="Parse run ids",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=f"Extend run ids, one a line (commas or spaces also work); at most "
        f"{MAX_RUN_IDS:,}.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2_000,
        help_text="Why the runs must be kept. Staff see this; the customer only sees "
        "“Retained for legal reasons”.",
    )
    reference = forms.CharField(
        max_length=200,
        label="Reference",
        help_text="The case, matter or ticket reference.",
    )
    ends_on = forms.DateField(
        required=False,
        label="End date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The hold lifts itself after this day. Leave empty to hold until lifted.",
    )

    def clean_reason(self) -> str:
        return str(self.cleaned_data["reason"]).strip()

    def clean_reference(self) -> str:
        return str(self.cleaned_data["reference"]).strip()

    def clean_ends_on(self) -> Any:
        ends_on = self.cleaned_data.get("ends_on")
        if ends_on is not None and ends_on < timezone.localdate():
            raise forms.ValidationError("The end date cannot be in the past.")
        return ends_on

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope = data.get("scope")
        data["runs"] = []
        if scope == LegalHold.Scope.CUSTOMER and not data.get("customer"):
            self.add_error("customer", "Choose the customer to hold.")
        elif scope == LegalHold.Scope.WORKSPACE and not data.get("workspace"):
            self.add_error("workspace", "Choose the workspace to hold.")
        elif scope == LegalHold.Scope.RUNS:
            data["runs"] = self._runs(data)
        return data

    def _runs(self, data: dict[str, Any]) -> list[ParseRun]:
        workspace = data.get("run_workspace")
        ids = parse_run_ids(data.get("run_ids") or "")
        if workspace is None:
            self.add_error("run_workspace", "Choose the workspace the runs are in.")
        if not ids:
            self.add_error("run_ids", "Enter at least one parse run id.")
            return []
        if len(ids) > MAX_RUN_IDS:
            self.add_error(
                "run_ids",
                f"{len(ids):,} run ids were given; a hold lists at most {MAX_RUN_IDS:,}. "
                "Hold the whole customer or workspace instead.",
            )
            return []
        if workspace is None:
            return []
        found = {
            run.run_id: run
            for run in ParseRun.objects.filter(workspace=workspace, run_id__in=ids).select_related(
                "customer"
            )
        }
        unknown = [run_id for run_id in ids if run_id not in found]
        if unknown:
            quoted = ", ".join(unknown[:QUOTED_UNKNOWN])
            more = len(unknown) - QUOTED_UNKNOWN
            tail = f" and {more:,} more" if more > 0 else ""
            self.add_error(
                "run_ids",
                f"{len(unknown):,} of these run id{'s are' if len(unknown) != 1 else ' is'} "
                f"not in workspace {workspace.name}: {quoted}{tail}. Check them and try again.",
            )
            return []
        return [found[run_id] for run_id in ids]


class LiftHoldForm(forms.Form):
    reason = forms.CharField(
        label="Why the hold is lifted",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2_000,
        help_text="Recorded in the audit log with your name.",
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("Say why the hold is lifted.")
        return reason
