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
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

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


# Names of settings, request headers, POSTed fields and local variables whose value is a secret.
SECRET_NAMES = re.compile(
    "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|DSN|COOKIE|PRIVATE|SALT",
    flags=re.IGNORECASE,
)
# The password of a URL (redis://:pw@host, postgres://user:pw@host, amqp://user:pw@host/vhost):
# everything after the user's colon up to the last "@" before the host.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/?#@:'\"]*:)(?P<secret>[^\s/?#'\"]+)(?=@)",
    flags=re.IGNORECASE,
)
# A query parameter whose name looks secret: ?password=..., &api_key=..., &token=...
_QUERY_PARAMETER = re.compile(r"(?P<head>[?&;](?P<name>[^=&;\s'\"#]+)=)(?P<secret>[^&;\s'\"#]+)")


_MASK = SafeExceptionReporterFilter.cleansed_substitute


def mask_url_secrets(text: str) -> str:
    """*text* with the password of every URL in it, and the value of every query parameter
    whose name looks secret, masked."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + _MASK, text)
    return _QUERY_PARAMETER.sub(
        lambda m: m["head"] + _MASK if SECRET_NAMES.search(m["name"]) else m[0], text
    )


class SecretsFilter(SafeExceptionReporterFilter):
    """Error reports (the e-mails sent to ADMINS on a 500) hide every setting, request header,
    POSTed field and local variable whose name looks secret (api_key, webhook_secret, password,
    token, DSN...), with or without the view's ``sensitive_post_parameters`` decorator, and the
    password in every URL they show (``REDIS_URL``, ``CELERY_BROKER_URL``, a cache's
    ``LOCATION``, a ``DATABASE_URL`` in the environment), however deeply nested."""

    hidden_settings = SECRET_NAMES

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django recurses into dicts, lists and tuples through this method: every level passes.
        cleansed = super().cleanse_setting(key, value)
        # str(): a lazy string (a translation, a lazy setting) is shown as its text anyway.
        return mask_url_secrets(str(cleansed)) if isinstance(cleansed, str) else cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is None or not isinstance(params, QueryDict):
            return params
        cleansed = params.copy()
        for name in cleansed:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        # Shown in the HTML report: plain values are cleansed like settings (a local called
        # password, a URL in a string); other objects as Django leaves them.
        return [
            (name, self.cleanse_setting(name, value) if type(value) in _PLAIN else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


_PLAIN = (str, dict, list, tuple)


class SecretsReporter(ExceptionReporter):
    """The error report, with URL passwords masked in what no filter sees: the exception's
    message and the lines of code quoted in the traceback."""

    def get_traceback_text(self) -> SafeString:
        # Masking only replaces characters inside a password: what was safe stays safe.
        return mark_safe(mask_url_secrets(super().get_traceback_text()))  # noqa: S308

    def get_traceback_html(self) -> SafeString:
        return mark_safe(mask_url_secrets(super().get_traceback_html()))  # noqa: S308
