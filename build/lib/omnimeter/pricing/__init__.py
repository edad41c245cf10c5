"""Rating rules: pure, typed code (no Kafka or ClickHouse imports).

`pricing.sms`, `pricing.voice`, `pricing.whatsapp`: provider rules for billable units; `pricing.units`
classifies an event into meter lines; `pricing.money` holds currencies and rounding.
"""
