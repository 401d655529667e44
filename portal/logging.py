"""Logging helpers: a JSON formatter (``LOG_FORMAT=json``) and an error-report filter that keeps
secrets out of error e-mails.

The JSON formatter writes one object per line, for log shippers: time, level, logger, message,
the exception if any, and any ``extra={...}`` fields given to the logging call.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, QueryDict
from django.views.debug import SafeExceptionReporterFilter

# Attributes every LogRecord has; anything else was passed with extra={...}.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


class SecretsFilter(SafeExceptionReporterFilter):
    """Error reports (the e-mails sent to ADMINS on a 500) hide every POSTed field whose name
    looks secret (api_key, webhook_secret, password, token...), with or without the view's
    ``sensitive_post_parameters`` decorator."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION", flags=re.IGNORECASE
    )

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is None or not isinstance(params, QueryDict):
            return params
        cleansed = params.copy()
        for name in cleansed:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed
