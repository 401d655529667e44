"""The HTML pages around the API, mounted under /console/api/, /team/api-tokens/ and
/account/api-tokens/ (every signed-in user's own tokens)."""

from django.urls import path

from deletions.api import pages

app_name = "api_pages"

urlpatterns = [
    path("console/api/tokens/", pages.console_tokens, name="console_tokens"),
    path("console/api/tokens/<int:pk>/revoke/", pages.console_revoke, name="console_revoke"),
    path("console/api/notifications/", pages.console_notifications, name="console_notifications"),
    path("team/api-tokens/", pages.team_tokens, name="team_tokens"),
    path("team/api-tokens/<int:pk>/revoke/", pages.team_revoke, name="team_revoke"),
    path("account/api-tokens/", pages.my_tokens, name="my_tokens"),
    path("account/api-tokens/<int:token_id>/revoke/", pages.my_revoke, name="my_revoke"),
]
