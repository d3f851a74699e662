"""URL converters for free-text path parts: Django's `str` and `path` minus NUL.

A %00 in a URL decodes to NUL, which PostgreSQL refuses even in a WHERE clause, so the lookup
behind the page would fail with a 500. No ticket id, track key or audit resource contains one:
such a URL names nothing and is a 404.
"""


class SegmentConverter:
    """Like `str`: one path segment (no "/"), without NUL."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class SubpathConverter(SegmentConverter):
    """Like `path`: may span segments, without NUL."""

    regex = "[^\x00]+"
