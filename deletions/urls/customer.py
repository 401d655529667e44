"""URL routes for the customer pages. Every object URL loads its object through an ownership
helper (deletions.views.customer.get_request_for_user, team._team_user,
customer_policies.get_policy_for_user): 404 for anyone else."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import (
    certificates,
    customer_intakes,
    customer_policies,
    customer_requests,
    customer_runs,
    team,
)

app_name = "customer"

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", customer_runs.runs, name="runs"),
    path("requests/new/", customer_runs.new_request, name="new_request"),
    path("requests/", customer_requests.request_list, name="requests"),
    path("requests/<int:pk>/", customer_requests.request_detail, name="request"),
    path("requests/<int:pk>/progress/", customer_requests.request_progress, name="progress"),
    path("requests/<int:pk>/items/", customer_requests.request_items, name="items"),
    path("requests/<int:pk>/files/", customer_requests.request_files, name="files"),
    path("requests/<int:pk>/cancel/", customer_requests.request_cancel, name="cancel"),
    path("requests/<int:pk>/receipt/", customer_requests.receipt_html, name="receipt"),
    path("requests/<int:pk>/receipt.csv", customer_requests.receipt_csv, name="receipt_csv"),
    path("requests/<int:pk>/certificate.json", certificates.customer_json, name="certificate_json"),
    path("requests/<int:pk>/certificate.pdf", certificates.customer_pdf, name="certificate_pdf"),
    # Erasure requests from the public form awaiting the customer's confirmation (admins)
    path("erasure-requests/", customer_intakes.intake_list, name="intakes"),
    path("erasure-requests/<int:pk>/", customer_intakes.intake_detail, name="intake"),
    path(
        "erasure-requests/<int:pk>/confirm/",
        customer_intakes.intake_confirm,
        name="intake_confirm",
    ),
    path("erasure-requests/<int:pk>/refuse/", customer_intakes.intake_refuse, name="intake_refuse"),
    # Retention policies (all users read; admins act) and exempted runs
    path("retention/", customer_policies.policy_list, name="policies"),
    path("retention/new/", customer_policies.policy_new, name="policy_new"),
    path("retention/<int:pk>/", customer_policies.policy_detail, name="policy"),
    path("retention/<int:pk>/change/", customer_policies.policy_change, name="policy_change"),
    path("retention/<int:pk>/pause/", customer_policies.policy_pause, name="policy_pause"),
    path("retention/<int:pk>/resume/", customer_policies.policy_resume, name="policy_resume"),
    path("retention/<int:pk>/retire/", customer_policies.policy_retire, name="policy_retire"),
    # The link in the policy notices: /retention/exempt/?run=<run_id>&policy=<id>
    path("retention/exempt/", customer_policies.exempt, name="exempt"),
    path("retention/exemptions/", customer_policies.exemption_list, name="exemptions"),
    path(
        "retention/exemptions/<int:pk>/remove/",
        customer_policies.exemption_remove,
        name="exemption_remove",
    ),
    path("team/", team.team, name="team"),
    path("team/<int:user_id>/deactivate/", team.deactivate, name="deactivate"),
    path("team/<int:user_id>/reactivate/", team.reactivate, name="reactivate"),
    path("team/<int:user_id>/resend/", team.resend_invitation, name="resend_invitation"),
]
