"""The signed JSON inside a certificate's PDF: the PDF carries the downloadable JSON certificate as
an embedded file (a PDF attachment, listed by every viewer's attachments pane and kept when the
PDF is copied or mailed), and the verify page finds it again in an uploaded PDF.

The printed pages are a rendering; the attachment is what is verified. The verify page shows
what the verified attachment says, so a reader can compare it with what is printed.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError

logger = logging.getLogger(__name__)

# Attachment names: "certificate-of-erasure-<request>[-v<version>].json" (certificates.file_name).
PREFIX = "certificate-of-erasure-"
SUFFIX = ".json"
# PDF readers accept the header anywhere in the first kilobyte.
HEADER = b"%PDF-"


class NotReadable(Exception):
    """The PDF carries no certificate we can read; the message says why, for the page."""


class TooLarge(NotReadable):
    """The certificate inside the PDF is larger than the verify page checks."""


def is_pdf(data: bytes) -> bool:
    return HEADER in data[:1024]


def embedded_certificate(data: bytes, *, max_bytes: int) -> bytes:
    """The certificate JSON attached to the PDF *data*, at most *max_bytes* long.

    Uploaded PDFs are untrusted: decompression is capped near *max_bytes*, no external decoder
    is run, and any failure of the parser is a "cannot read" answer, never a server error. What
    comes out is only text to verify, so its signature is what decides, not this parser."""
    # Room for the JSON to exceed the limit by a little, so that the answer can say "too large"
    # rather than "damaged"; never the parser's default of tens of megabytes.
    ceiling = max_bytes + 64 * 1024
    try:
        with apply_configuration(
            zlib_maximum_output_length=ceiling,
            lzw_maximum_output_length=ceiling,
            run_length_maximum_output_length=ceiling,
            brotli_maximum_output_length=ceiling,
            array_based_stream_maximum_output_length=ceiling,
            maximum_declared_stream_length=max(ceiling, len(data)),
            stream_decoding_work_maximum_length=8 * ceiling,
            jbig2dec_binary=None,
        ):
            attachments = PdfReader(io.BytesIO(data), strict=False).attachments
            names = [n for n in attachments if n.startswith(PREFIX) and n.endswith(SUFFIX)]
            if not names:
                raise NotReadable(
                    "This PDF carries no certificate: it has no attached certificate file. "
                    "Certificates issued before they were signed with Ed25519 carry none; check "
                    "their JSON file instead."
                )
            contents = [content for name in names for content in attachments[name]]
    except NotReadable:
        raise
    except LimitReachedError as exc:
        raise TooLarge("The certificate inside this PDF is larger than this page checks.") from exc
    # The parser meets arbitrary bytes: whatever it raises means "not a PDF we can read".
    except Exception as exc:
        logger.info("uploaded PDF not readable: %s", type(exc).__name__)
        raise NotReadable("This PDF cannot be read: it is damaged or not a PDF.") from exc
    if len(contents) != 1:
        raise NotReadable("This PDF carries more than one certificate file; check each JSON file.")
    if len(contents[0]) > max_bytes:
        raise TooLarge("The certificate inside this PDF is larger than this page checks.")
    return contents[0]
