"""sObject Collections calls carried as subrequests of Composite requests, packed to the limits.

Salesforce's documented limits, which the packing never exceeds:
- Composite: "You can have up to 25 subrequests in a single call. Up to 5 of these subrequests
  can be sObject Collections or query operations", and "the entire series of requests counts
  as a single call toward your API limits"
  (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html).
- sObject Collections: up to 200 records per request; an upsert carries one object type
  (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html).
- With `collateSubrequests: false` subrequests run in the order sent, so parents' collections
  go before their children's; with `allOrNone: false` on the composite and on each collection,
  a refused record fails alone and nothing already written is rolled back
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite.htm).
- Request size: no figure could be confirmed in the stored documentation, so a composite body
  is kept under `COMPOSITE_MAX_BYTES` (2 MiB), far below any refusal we know of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paybridge.adapters.salesforce.models import CompositeSubrequest, encode_json

COMPOSITE_MAX_SUBREQUESTS = 25
COMPOSITE_MAX_COLLECTIONS = 5
COLLECTIONS_MAX_RECORDS = 200
COMPOSITE_MAX_BYTES = 2 * 1024 * 1024
# The envelope around the subrequests: `{"allOrNone":false,"collateSubrequests":false,…}`.
_ENVELOPE_BYTES = 96


@dataclass(frozen=True, slots=True)
class CollectionCall:
    """One sObject Collections write: an upsert of one type on `ext_field`, or (no
    `ext_field`) an update by record Id. `records` are collection entries (with attributes)."""

    sobject: str
    ext_field: str | None
    records: Sequence[Mapping[str, Any]]

    def subrequest(self, *, api_version: str, reference_id: str) -> CompositeSubrequest:
        if not self.records or len(self.records) > COLLECTIONS_MAX_RECORDS:
            raise ValueError(
                f"a collection takes 1 to {COLLECTIONS_MAX_RECORDS} records, "
                f"got {len(self.records)}"
            )
        path = f"/services/data/v{api_version}/composite/sobjects"
        if self.ext_field is not None:
            path = f"{path}/{self.sobject}/{self.ext_field}"
        return CompositeSubrequest(
            method="PATCH",
            url=path,
            reference_id=reference_id,
            body={"allOrNone": False, "records": [dict(record) for record in self.records]},
        )

    def size(self, *, api_version: str) -> int:
        """Bytes this call adds to a composite body."""
        wire = self.subrequest(api_version=api_version, reference_id="c00").to_wire()
        return len(encode_json(wire)) + 1


def pack(
    calls: Sequence[CollectionCall],
    *,
    api_version: str,
    max_collections: int = COMPOSITE_MAX_COLLECTIONS,
    max_bytes: int = COMPOSITE_MAX_BYTES,
) -> list[list[int]]:
    """Indexes of `calls` grouped into composite requests, in order: as few as the limits
    allow. A call that alone exceeds `max_bytes` raises (the caller must split it)."""
    requests: list[list[int]] = []
    used = 0
    for index, call in enumerate(calls):
        size = call.size(api_version=api_version)
        if size + _ENVELOPE_BYTES > max_bytes:
            raise ValueError(
                f"one {call.sobject} collection of {len(call.records)} records is {size} bytes; "
                f"a composite request is kept under {max_bytes}"
            )
        if (
            not requests
            or len(requests[-1]) >= min(max_collections, COMPOSITE_MAX_SUBREQUESTS)
            or used + size > max_bytes
        ):
            requests.append([])
            used = _ENVELOPE_BYTES
        requests[-1].append(index)
        used += size
    return requests
