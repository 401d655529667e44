"""The API's JSON parser: DRF's, with the body's size and nesting bounded before it is parsed.

DRF's own ``JSONParser`` reads the stream whole, whatever ``DATA_UPLOAD_MAX_MEMORY_SIZE`` says,
and lets a deeply nested body raise ``RecursionError`` (a 500). This one reads at most
``API_MAX_BODY_BYTES`` (413 beyond; ``ApiView`` refuses a larger announced length before this
runs, this bounds every other view that parses JSON) and answers a body nested too deeply, or
not JSON, with a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from deletions.api.errors import PayloadTooLarge
from deletions.core import bounded_json


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        try:
            return bounded_json.loads(stream.read(limit + 1), max_bytes=limit)
        except bounded_json.TooLarge:
            raise PayloadTooLarge(
                f"The body is larger than {limit:,} bytes, the most that is accepted.",
                details={"limit_bytes": limit},
            ) from None
        except bounded_json.JSONRefused as refused:
            raise ParseError(f"JSON parse error - {refused}") from None
