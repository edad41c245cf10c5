"""Step 4 of a flush: dead-letter records, the original bytes with headers naming the reason, the field,
the event id and the source topic/partition/offset (and index inside a batch record). The original
headers are kept.

Delivery to the dead-letter topic is at-least-once (a crash between publishing and storing replays the
record); ``omnimeter.source.*`` headers identify a record uniquely, so readers can drop repeats. The
exactly-once account of rejections is the ClickHouse table rejected_events.
"""

from __future__ import annotations

from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, Rejection, RejectReason, element_bytes
from omnimeter.sinks.base import DeadLetter
from omnimeter.streams.records import ConsumedRecord

H_REASON = "omnimeter.dlq.reason"
H_FIELD = "omnimeter.dlq.field"
H_DETAIL = "omnimeter.dlq.detail"
H_EVENT_ID = "omnimeter.dlq.event_id"
H_TOPIC = "omnimeter.source.topic"
H_PARTITION = "omnimeter.source.partition"
H_OFFSET = "omnimeter.source.offset"
H_INDEX = "omnimeter.source.index"
H_TRUNCATED = "omnimeter.dlq.truncated"
REQUEST_OVERHEAD = 16_384  # a produce request's own bytes beside the record's key, value and headers


def dead_letter(record: ConsumedRecord, rej: Rejection) -> DeadLetter:
    ours = [
        (H_REASON, rej.reason.value.encode()),
        (H_FIELD, rej.field.encode()),
        (H_DETAIL, rej.detail[:1000].encode()),
        (H_EVENT_ID, rej.event_id.encode()),
        (H_TOPIC, record.topic.encode()),
        (H_PARTITION, str(record.partition).encode()),
        (H_OFFSET, str(record.offset).encode()),
        (H_INDEX, str(rej.index).encode()),
    ]
    kept = [(k, v) for k, v in record.headers if not k.startswith(("omnimeter.dlq.", "omnimeter.source."))]
    key = f"{record.topic}:{record.partition}:{record.offset}:{rej.index}".encode()
    return DeadLetter(key, rej.raw, [*kept, *ours])


def unknown_tenant(o: Accepted, rec: ConsumedRecord) -> Rejection:
    """An event of a tenant the directory does not know: dead-lettered, not stored or billed."""
    detail = f"tenant {o.event.subject!r} is not in the directory"
    return event_rejection(RejectReason.UNKNOWN_TENANT, "subject", detail, o.event, o.index, rec)


def event_rejection(
    reason: RejectReason, field: str, detail: str, event: UsageEvent, index: int, rec: ConsumedRecord
) -> Rejection:
    """An accepted event rejected later (by the directory, the rater or the store), with its own bytes:
    the record's, or the element's for an element of a batch record."""
    raw = rec.value or b""
    if raw.lstrip()[:1] == b"[":
        raw = element_bytes(event.model_dump(mode="json", exclude_unset=True))
    return Rejection(reason, field, detail, event.id, index, raw)


def fit(letter: DeadLetter, max_request_bytes: int) -> DeadLetter:
    """`letter`, its value cut so the whole record fits one producer request of `max_request_bytes`
    (with ``omnimeter.dlq.truncated: <original size>``), or unchanged when it fits."""
    headers = [(k, v) for k, v in letter.headers if k != H_TRUNCATED]
    room = max_request_bytes - REQUEST_OVERHEAD - len(letter.key) - sum(len(k) + len(v) + 16 for k, v in headers) - 64
    if len(letter.value) <= room:
        return letter
    return DeadLetter(
        letter.key, letter.value[: max(room, 0)], [*headers, (H_TRUNCATED, str(len(letter.value)).encode())]
    )
