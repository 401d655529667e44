"""The portal's models, one module per area; every model is importable from here.

``from deletions.models import X`` is how the rest of the code (and the migrations) names a
model, so the split below is invisible outside this package. The modules import one another in
this order only: ``source``, ``workspaces``, ``accounts``, ``inventory``, ``requests``,
``files``, ``holds``, ``audit``, ``gdpr``, ``recipients``, ``tokens``, ``notifications``,
``retention``.

Models hold data and the small rules that need nothing but the row itself (a secret's
encryption, a status label). They import nothing of the portal above them: no domain function,
task, form, view or API module; only :mod:`deletions.core` (encryption, encrypted fields) and
:mod:`deletions.extend_client` (the region URLs and the API version).
"""

from deletions.models.accounts import Customer, Membership, ServiceAccount
from deletions.models.audit import AuditEvent
from deletions.models.files import FileAttempt, FileErasure
from deletions.models.gdpr import Certificate, CertificateKey, ErasureIntake, new_nonce
from deletions.models.holds import LegalHold
from deletions.models.inventory import ParseRun, WebhookEvent, WorkspaceSync
from deletions.models.notifications import NotificationDelivery, NotificationEndpoint
from deletions.models.recipients import Recipient, RecipientNotice
from deletions.models.requests import (
    Approval,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    OwnershipConflict,
)
from deletions.models.retention import (
    PolicyApproval,
    PolicyEvaluation,
    RetentionExemption,
    RetentionPolicy,
    RetentionSwitch,
)
from deletions.models.source import Source
from deletions.models.tokens import ApiToken, IdempotencyKey
from deletions.models.workspaces import Organization, RateLimitSlot, RunnerLease, Workspace

__all__ = [
    "ApiToken",
    "Approval",
    "AuditEvent",
    "Certificate",
    "CertificateKey",
    "Customer",
    "DeletionAttempt",
    "DeletionItem",
    "DeletionRequest",
    "ErasureIntake",
    "FileAttempt",
    "FileErasure",
    "IdempotencyKey",
    "LegalHold",
    "Membership",
    "NotificationDelivery",
    "NotificationEndpoint",
    "Organization",
    "OwnershipConflict",
    "ParseRun",
    "PolicyApproval",
    "PolicyEvaluation",
    "RateLimitSlot",
    "Recipient",
    "RecipientNotice",
    "RetentionExemption",
    "RetentionPolicy",
    "RetentionSwitch",
    "RunnerLease",
    "ServiceAccount",
    "Source",
    "WebhookEvent",
    "Workspace",
    "WorkspaceSync",
    "new_nonce",
]
