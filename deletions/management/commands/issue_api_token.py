"""Create an API token for a user and print it (the only time it is shown)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletions.api import tokens
from deletions.core.errors import DomainError
from deletions.models import Source


class Command(BaseCommand):
    help = "Issue an API token for USERNAME and print it; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Command-line token", help="A label for the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        try:
            token, raw = tokens.issue(
                user, name=options["name"], created_by=None, source=Source.CLI
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Token {token.prefix}… for {user.username} ({token.scope_label}).")
        self.stdout.write(raw)
