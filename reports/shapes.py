"""The JSON shape of every report: its sections and each section's columns with their JSON types.

This is the contract of the HTTP API and of `--format json`: builders take their columns from here, the
OpenAPI document is generated from it (docs/openapi.json), and tests pin both. Types: `s` string, `i`
integer, `d` decimal as a string (money in minor units, quantities exact), `p` percent as a string or
null, `D` date, `t` date-time or null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnimeter.reports.section import Section

SHAPES: dict[str, dict[str, str]] = {
    "users": {
        "users_by_role": "role:s users:i active_users:i",
        "users": "tenant_id:s user_id:s name:s email:s role:s channels_assigned:i channels:s activity:i "
        "last_activity:t cost:d currency:s",
        "user_channels": "tenant_id:s user_id:s channel:s activity:i cost:d currency:s",
    },
    "services": {
        "by_service": "service:s unit:s quantity:d lines_cost:d adjustment:d cost:d currency:s",
        "by_meter": "service:s meter:s unit:s quantity:d lines_cost:d adjustment:d cost:d currency:s",
        "adjustments": "tenant_id:s cycle_start:D meter:s adjustment:d currency:s",
    },
    "usage": {
        "usage": "service:s unit:s period:D quantity:d cost:d adjustment:d previous_period:D previous_quantity:d "
        "previous_cost:d change_percent:p currency:s",
    },
    "whatsapp": {
        "messages": "account:s period:D inbound:d outbound_sent:d outbound_delivered:d outbound_failed:d "
        "templates_charged:d templates_free:d",
        "templates": "account:s category:s charged:d free:d cost:d currency:s",
        "free_by_reason": "account:s reason:s templates:d",
    },
    "resellers": {
        "companies": "company_id:s name:s reseller_id:s total_price_platform:d total_price_reseller:d "
        "currency_platform:s currency_reseller:s margin:p",
        "text_messaging": "company_id:s name:s delivered_sms:d price_sms:d "
        "sent_viber:d delivered_viber:d price_viber:d sent_whatsapp:d delivered_whatsapp:d price_whatsapp:d "
        "sent_email:d delivered_email:d price_email:d "
        "sent_push:d delivered_push:d price_push:d total_price_platform:d total_price_reseller:d margin:p",
        "chat": "company_id:s name:s operator_messages:d operator_messages_price:d bot_messages:d "
        "bot_messages_price:d user_messages:d user_messages_price:d operator_messages_voice_assistant:d "
        "bot_messages_voice_assistant:d user_messages_voice_assistant:d voice_assistant_messages_price:d "
        "total_price_platform:d total_price_reseller:d margin:p",
        "telephony": "company_id:s name:s section:s direction:s calls:i billable_seconds:d total_price_platform:d "
        "total_price_reseller:d margin:p",
        "bot": "company_id:s name:s billable_messages:d total_price_platform:d total_price_reseller:d margin:p",
        "adjustments": "company_id:s cycle_start:D meter:s adjustment_platform:d currency_platform:s "
        "adjustment_reseller:d currency_reseller:s",
        "totals": "section:s rows:i total_price_platform:d total_price_reseller:d margin:p negative_margins:i "
        "currency_platform:s currency_reseller:s",
    },
    "billing-units": {
        "by_unit": "tenant_id:s billing_unit:s name:s cost:d currency:s",
        "by_unit_meter": "tenant_id:s billing_unit:s meter:s quantity:d cost:d currency:s",
        "members": "tenant_id:s billing_unit:s name:s kind:s member:s member_name:s share_percent:p rule:s",
        "trend": "tenant_id:s billing_unit:s period:D cost:d currency:s",
    },
    "allocation": {
        "allocation": "center:s usage:d share_percent:p amount:d currency:s",
        "basis": "by:s meter:s amount:d currency:s attributed_usage:d unattributed_usage:d",
    },
    "margin": {
        "by_tenant": "tenant_id:s reseller_id:s price_platform:d cost:d margin:d margin_percent:p negative_lines:i "
        "other_currency_lines:i currency:s",
        "by_reseller": "reseller_id:s price_platform:d cost:d margin:d margin_percent:p negative_lines:i currency:s",
        "by_service": "meter:s quantity:d price_platform:d cost:d margin:d margin_percent:p negative_lines:i "
        "currency:s",
        "by_destination": "channel:s country:s price_platform:d cost:d margin:d margin_percent:p negative_lines:i "
        "currency:s",
        "by_cycle": "tenant_id:s cycle_start:D price_platform:d cost:d margin:d margin_percent:p currency:s",
        "negative_lines": "tenant_id:s line:s meter:s event_time:t price_platform:d cost:d margin:d currency:s",
    },
    "cycle": {
        "cycle": "tenant_id:s cycle_start:t cycle_end:t period:s time_zone:s days_elapsed:i days_total:i price_book:s",
        "commitments": "meter:s included:d used:d remaining:d overage:d used_percent:p",
        "charges": "meter:s model:s charged_quantity:d lines_amount:d estimated_amount:d adjustment:d currency:s",
        "charges_by_party": "meter:s model:s charged_quantity:d lines_platform:d charge_platform:d "
        "adjustment_platform:d currency_platform:s lines_reseller:d charge_reseller:d adjustment_reseller:d "
        "currency_reseller:s",
        "credit": "credit:d spent:d remaining:d used_percent:p currency:s",
        "carry_over": "account:s customer_service_windows:i free_entry_point_windows:i open_until:t",
        "carried_in": "account:s customer_service_windows:i free_entry_point_windows:i open_until:t",
        "warnings": "kind:s meter:s used:d limit:d used_percent:p level:s overage:d overage_cost:d forecast:d "
        "forecast_percent:p forecast_level:s currency:s message:s",
        "totals": "party:s lines:d adjustment:d charge:d currency:s",
        "navigation": "previous_cycle:D next_cycle:D state:s",
        "cycles": "cycle_start:t cycle_end:t state:s selected:i",
    },
    "alerts": {
        "summary": "kind:s alerts:i tenants:i",
        "alerts": "raised_at:t kind:s tenant_id:s subject:s threshold:s observed:s currency:s period_start:t "
        "period_end:t message:s evidence:s alert_id:s",
    },
    "lines": {
        "summary": "lines:i quantity:d cost:d adjustment:d total:d currency:s page:i page_size:i pages:i",
        "lines": "line_id:s event_time:t tenant_id:s meter:s quantity:d unit:s channel:s account:s billing_unit:s "
        "user_id:s free_reason:s cost:d currency:s price_platform:p currency_platform:s price_reseller:p "
        "currency_reseller:s corrects_line_id:s",
    },
    "event": {
        "line": "line_id:s event_time:t tenant_id:s meter:s quantity:d unit:s channel:s account:s billing_unit:s "
        "user_id:s free_reason:s cost:d currency:s price_platform:p currency_platform:s price_reseller:p "
        "currency_reseller:s corrects_line_id:s",
        "event": "tenant_id:s source:s event_id:s type:s channel:s event_time:t ingested_at:t data:s",
    },
}


def columns(report: str, section: str) -> tuple[str, ...]:
    return tuple(c.split(":")[0] for c in SHAPES[report][section].split())


def section(report: str, name: str, rows: Sequence[Sequence[Any]]) -> Section:
    cols = columns(report, name)
    for r in rows[:1]:
        if len(r) != len(cols):
            raise AssertionError(f"{report}.{name}: {len(r)} values for {len(cols)} columns")
    return Section(name, cols, rows)
