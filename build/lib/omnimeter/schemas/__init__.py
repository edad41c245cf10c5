"""Event and reference-data models: pure types and validation, no I/O.

`schemas.events` holds the CloudEvents envelope and one model per usage event type;
`schemas.parse` turns the bytes of one Kafka record (single envelope or batch) into accepted events and
rejections with a reason.
"""
