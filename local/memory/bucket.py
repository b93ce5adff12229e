"""S3 for the ReportFunction on the memory backend: the objects it writes, kept by bucket and key.

Only what the report service calls (`put_object`); a later write of a key replaces the object, as on an
unversioned bucket (the template's is versioned: moto keeps the versions, `--backend moto`).
"""

from __future__ import annotations

from typing import Any


class MemoryBucket:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}  # (bucket, key) -> body and content type

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = {"Body": Body, "ContentType": ContentType}
        return {}
