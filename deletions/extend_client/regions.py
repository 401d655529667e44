"""Extend's regions and the API version the portal speaks: the one home of these constants.

The ``Workspace`` model takes its region choices and its default API version from here, and so
does ``Credentials``; a new region or a new API version is a change to this file alone (plus the
choice labels in ``deletions.models``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

US_BASE_URL: Final = "https://api.extend.ai"
US2_BASE_URL: Final = "https://api.us2.extend.app"
EU1_BASE_URL: Final = "https://api.eu1.extend.ai"
REGION_BASE_URLS: Final[Mapping[str, str]] = {
    "US": US_BASE_URL,
    "US2": US2_BASE_URL,
    "EU1": EU1_BASE_URL,
}

# The x-extend-api-version a new workspace sends until staff change it.
DEFAULT_API_VERSION: Final = "2026-02-09"
