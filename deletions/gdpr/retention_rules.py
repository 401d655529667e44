"""How long the portal keeps each of its tables: one rule per model it writes, its own and the
third-party apps' alike (``tests/gdpr/test_retention_rules.py`` fails for a model without one,
and for a rule the README's retention table does not list).

A rule either names the setting that sets its period (the daily purge,
:func:`deletions.gdpr.retention.purge_expired_records`, enforces it) or says why the rows are
kept as long as what they belong to, or forever.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """What happens to a table's rows, and the setting of its period (if it has one)."""

    text: str
    setting: str = ""


def kept(why: str) -> Rule:
    """No period: the rows stay as long as *why* says."""
    return Rule(f"Kept {why}")


RULES: dict[str, Rule] = {
    # --- Requests and what they prove. ---
    "deletions.DeletionRequest": Rule(
        "Kept as the anchor of its certificate and audit trail; its free text (reason, "
        "comments, extension reason, filter) is blanked once its records are purged, "
        "this long after it finished.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.DeletionItem": Rule(
        "Deleted (with the file name it took from its run) this long after its request "
        "finished, once every item and file is final.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.DeletionAttempt": Rule(
        "Deleted with its item, only through the purge role's database functions "
        "(append-only table).",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.FileErasure": Rule(
        "Deleted (with its file id) this long after its request finished, once every item and "
        "file is final.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.FileAttempt": Rule(
        "Deleted with its file, only through the purge role's database functions "
        "(append-only table).",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.Approval": Rule(
        "Kept with its request; its comment is blanked when the request's records are purged.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.OwnershipConflict": Rule(
        "Deleted this long after it was resolved; open ones wait for their request to end.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.ParseRun": Rule(
        "Present runs mirror Extend (the sync keeps them). A deleted run keeps no file name "
        "nor metadata (the subject's reference as a keyed hash only; its file id stays) and is "
        "deleted this long after its deletion, as is a run gone at Extend this long after it "
        "was last seen, once no item or hold names it.",
        "RETENTION_TOMBSTONE_DAYS",
    ),
    "deletions.Certificate": Rule(
        "Deleted this long after it was issued (each version by its own date).",
        "RETENTION_CERTIFICATE_DAYS",
    ),
    "deletions.RecipientNotice": Rule(
        "Deleted this long after the recipient was informed: the Art. 19 record lives as long as "
        "the certificates it goes with.",
        "RETENTION_CERTIFICATE_DAYS",
    ),
    "deletions.CertificateKey": kept(
        "forever: a public key is needed to verify every certificate it ever signed."
    ),
    "deletions.AuditEvent": Rule(
        "Deleted this long after it happened, only through the purge role's database "
        "functions (append-only table).",
        "RETENTION_AUDIT_DAYS",
    ),
    "admin.LogEntry": Rule(
        "Deleted as audit events are (the Django admin is read-only: it writes none).",
        "RETENTION_AUDIT_DAYS",
    ),
    # --- GDPR. ---
    "deletions.ErasureIntake": Rule(
        "Dismissed and expired intakes are deleted this long after they came in; a converted "
        "one loses its encrypted address and reference when its request's records are purged.",
        "RETENTION_REQUEST_DAYS",
    ),
    "deletions.LegalHold": Rule(
        "Deleted this long after it ended (lifted, or past its end date); active holds stay.",
        "RETENTION_ENDED_HOLD_DAYS",
    ),
    "deletions.LegalHold_runs": Rule(
        "The runs a hold lists: deleted with their hold.", "RETENTION_ENDED_HOLD_DAYS"
    ),
    # --- Inventory and engine state. ---
    "deletions.WebhookEvent": Rule(
        "Deleted this long after it was received (kept to drop Extend's redeliveries).",
        "RETENTION_WEBHOOK_EVENT_DAYS",
    ),
    "deletions.WorkspaceSync": kept("with its workspace (one row each, no personal data)."),
    "deletions.RunnerLease": kept("with its workspace (one row each, no personal data)."),
    "deletions.RateLimitSlot": Rule(
        "Deleted when its next free slot is this far in the past (no row means the same).",
        "RETENTION_RATE_LIMIT_SLOT_HOURS",
    ),
    # --- Configuration: what staff set up, removed by staff. ---
    "deletions.Workspace": kept("until staff remove it (no personal data)."),
    "deletions.Organization": kept("until staff remove it (no personal data)."),
    "deletions.Customer": kept("while the operator serves the customer; staff deactivate it."),
    "deletions.Recipient": kept(
        "while it is on its customer's list of recipients; staff remove it (audited)."
    ),
    "deletions.NotificationEndpoint": kept("while the customer's notification URL is set."),
    # --- Retention policies (deletions/policies/). ---
    "deletions.RetentionPolicy": kept(
        "as the standing approval its retention requests and their certificates name; a retired "
        "policy stays on record."
    ),
    "deletions.RetentionPolicy_workspaces": kept("with its policy (the workspaces it narrows to)."),
    "deletions.PolicyApproval": kept(
        "with its policy: the approvals its retention requests carry."
    ),
    "deletions.PolicyEvaluation": kept(
        "with its policy (counts and dates, no personal data: what each evaluation selected and "
        "skipped, which the monthly summaries report)."
    ),
    "deletions.RetentionExemption": kept(
        "until the customer removes it (audited); deleted with its run."
    ),
    "deletions.RetentionSwitch": kept("forever: one row, the console's switch for every policy."),
    # --- People and access. ---
    "auth.User": kept(
        "while the person has access; leavers are deactivated, not deleted, because their "
        "requests, approvals, holds and audit events name them."
    ),
    "auth.User_groups": kept("with its user (staff roles)."),
    "auth.User_user_permissions": kept("with its user (unused: roles are groups)."),
    "auth.Group": kept("forever: the staff roles (created by the migrations)."),
    "auth.Group_permissions": kept("forever: what each staff role may do."),
    "auth.Permission": kept("forever: Django's permission list, no personal data."),
    "contenttypes.ContentType": kept("forever: Django's model list, no personal data."),
    "deletions.Membership": kept("while the user belongs to the customer."),
    "deletions.ServiceAccount": kept("with its user (see `auth.User`)."),
    "deletions.ApiToken": Rule(
        "Active tokens are kept; a revoked one is deleted this long after its revocation.",
        "RETENTION_REVOKED_TOKEN_DAYS",
    ),
    "deletions.IdempotencyKey": Rule(
        "Deleted, with the answer it stored, this long after the call.",
        "RETENTION_IDEMPOTENCY_KEY_HOURS",
    ),
    "sessions.Session": Rule(
        "Deleted once expired (a sign-in lasts this many seconds).", "SESSION_COOKIE_AGE"
    ),
    "axes.AccessAttempt": Rule(
        "Failed sign-ins: deleted this long after the attempt (at least the lockout).",
        "RETENTION_LOGIN_RECORD_DAYS",
    ),
    "axes.AccessAttemptExpiration": Rule(
        "Deleted with its failed sign-in.", "RETENTION_LOGIN_RECORD_DAYS"
    ),
    "axes.AccessFailureLog": Rule(
        "Deleted this long after the failed sign-in.", "RETENTION_LOGIN_RECORD_DAYS"
    ),
    "axes.AccessLog": Rule(
        "Sign-ins: deleted this long after the sign-in.", "RETENTION_LOGIN_RECORD_DAYS"
    ),
    # --- Notifications. ---
    "deletions.NotificationDelivery": Rule(
        "Delivered and given-up notifications (and the payload they carried) are deleted this "
        "long after they were created; pending ones are still being sent.",
        "RETENTION_NOTIFICATION_DAYS",
    ),
}
