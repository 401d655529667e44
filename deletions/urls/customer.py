"""URL routes for the customer pages. Every object URL loads its object through an ownership
helper (deletions.views.customer.get_request_for_user, team._team_user): 404 for anyone else."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import certificates, customer_intakes, customer_requests, customer_runs, team

app_name = "customer"

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", customer_runs.runs, name="runs"),
    path("requests/new/", customer_runs.new_request, name="new_request"),
    path("requests/", customer_requests.request_list, name="requests"),
    path("requests/<int:pk>/", customer_requests.request_detail, name="request"),
    path("requests/<int:pk>/progress/", customer_requests.request_progress, name="progress"),
    path("requests/<int:pk>/items/", customer_requests.request_items, name="items"),
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
    path("team/", team.team, name="team"),
    path("team/<int:user_id>/deactivate/", team.deactivate, name="deactivate"),
    path("team/<int:user_id>/reactivate/", team.reactivate, name="reactivate"),
    path("team/<int:user_id>/resend/", team.resend_invitation, name="resend_invitation"),
]
