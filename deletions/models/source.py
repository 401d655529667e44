"""Where an action came from (the web, the API, a worker...): recorded with every change."""

from __future__ import annotations

from django.db import models


class Source(models.TextChoices):
    """Where an action came from; every audit record carries one."""

    WEB = "web", "Web"
    API = "api", "API"
    ADMIN = "admin", "Django admin"
    PUBLIC = "public", "Public form"
    WORKER = "worker", "Worker"
    SYSTEM = "system", "System"
    CLI = "cli", "Command line"
