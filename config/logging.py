"""Logging helpers."""

from __future__ import annotations

import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A 4xx is a refusal the product meant (a 403 naming the missing role, a 404 for another
    tenant's row): log it as one line, never as a traceback. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
