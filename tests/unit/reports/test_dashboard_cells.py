"""The dashboard's reading of report rows (reports/web/cells.py, charts.py, presets.py, reports/labels.py):
labels, money with its currency, minutes of calls, totals in Decimal, aligned chart buckets, presets and
field errors. Expected values written by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from omnimeter.reports import labels
from omnimeter.reports.period import PeriodError
from omnimeter.reports.web.app import field_errors
from omnimeter.reports.web.cells import present
from omnimeter.reports.web.charts import comparison
from omnimeter.reports.web.presets import api_query, dtlocal
from omnimeter.schemas.directory import Directory


def test_labels_come_from_one_catalogue_with_a_readable_fallback() -> None:
    assert labels.meter("whatsapp.template.marketing") == "WhatsApp marketing template"
    assert labels.meter("whatsapp.template.new_kind") == "WhatsApp new kind template"
    assert labels.meter("seats.active.agent") == "Seats (Agent)"
    assert labels.service("outgoing_sms") == "Outgoing SMS"
    assert labels.column("bot_id") == "Bot"
    assert labels.unit("seconds") == "minutes"
    assert labels.value("channels", "whatsapp,webchat") == "WhatsApp, Web chat"


def test_cells_keep_the_raw_value_and_read_for_people() -> None:
    rows = [
        {"service": "calls", "unit": "seconds", "quantity": "126600", "cost": "1234.50", "currency": "USD"},
        {"service": "calls", "unit": "seconds", "quantity": "30", "cost": "0.50", "currency": "USD"},
    ]
    t = present(rows)
    q, c = t.rows[0][2], t.rows[0][3]
    assert (q.raw, q.text, q.detail) == ("126600", "2,110.00 min", "126,600 s")
    assert (c.raw, c.text) == ("1234.50", "1,234.50 USD")
    assert t.totals is not None
    assert t.totals[3].raw == "1235.00" and t.totals[3].text == "1,235.00 USD"  # 1234.50 + 0.50
    assert t.totals[2].raw == "126630"  # one unit: the quantities add up


def test_totals_leave_unlike_quantities_and_mixed_currencies_alone() -> None:
    rows = [
        {"meter": "sms.outbound.segments", "quantity": "10", "cost": "1.00", "currency": "USD"},
        {"meter": "video.minutes", "quantity": "5", "cost": "2.00", "currency": "EUR"},
    ]
    assert present(rows).totals is None  # nothing adds up honestly: no totals row
    rows.append({"meter": "sms.outbound.segments", "quantity": "1", "cost": "0.10", "currency": "USD"})
    t = present([{**r, "meter": "sms.outbound.segments"} for r in rows])
    assert t.totals is not None
    assert t.totals[1].raw == "16" and t.totals[2].text == "mixed currencies"


def test_times_in_the_page_zone_to_the_second() -> None:
    t = present([{"last_activity": "2026-11-28T10:58:03.123456+00:00"}], tz="America/New_York")
    assert t.rows[0][0].text == "2026-11-28 05:58:03"


def test_comparison_pairs_buckets_of_seven_days_from_the_first_day_and_stops_today() -> None:
    period = {"from": "2026-11-04", "to": "2026-11-20", "time_zone": "UTC", "kind": "days"}
    rows = [
        {"service": "outgoing_sms", "currency": "USD", "period": f"2026-11-{d:02d}", "cost": "1.00",
         "previous_period": f"2026-10-{d - 3:02d}", "previous_cost": "0.50", "quantity": "1", "unit": "segments"}
        for d in range(4, 21)
    ] + [{"service": "seats", "currency": "USD", "period": "2026-11-04", "cost": "100.00",
          "previous_period": "2026-10-01", "previous_cost": "100.00", "quantity": "1", "unit": "users"}]  # fmt: skip
    spec = comparison(rows, period, "week", today=date(2026, 11, 15))
    # Nov 4-10 (7 days), Nov 11-17 (5 of them up to today: partial); Nov 18-20 is after today: not drawn
    assert spec["labels"] == ["Nov 4\u201310", "Nov 11\u201317 (partial)"]
    assert spec["datasets"][0]["raw"] == ["7.00", "5.00"]  # seats left out
    assert spec["datasets"][1]["raw"] == ["3.50", "2.50"]  # the previous days paired with days that happened
    assert spec["datasets"][1]["periods"] == ["Oct 1\u20137", "Oct 8\u201312"]
    assert spec["datasets"][1]["label"] == "previous period (Oct 1\u201317)"


def _directory() -> Directory:
    return Directory.model_validate(
        {"tenants": [{"id": "t1", "timezone": "Europe/Madrid", "signup": "2026-01-15", "cycle": "monthly"}]}
    )


def test_presets_become_custom_days() -> None:
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    d = _directory()
    assert api_query({"period": "last-month"}, d, ["t1"], now) == {
        "period": "custom", "from": "2026-11-01", "to": "2026-11-30"
    }  # fmt: skip
    got = api_query({"period": "previous-cycle", "tenant": "t1"}, d, ["t1"], now)
    assert (got["from"], got["to"]) == ("2026-10-15", "2026-11-14")  # the cycle before Nov 15 - Dec 14
    got = api_query({"period": "custom", "from": "2026-11-01T00:00", "to": "2026-11-08T00:00"}, d, ["t1"], now)
    assert (got["from"], got["to"]) == ("2026-11-01", "2026-11-07")
    with pytest.raises(PeriodError, match=r"^to: must be after from"):
        api_query({"period": "custom", "from": "2026-11-10T00:00", "to": "2026-11-01T00:00"}, d, ["t1"], now)
    assert dtlocal("2026-11-07", end=True) == "2026-11-08T00:00" and dtlocal("2026-11-07T08:30") == "2026-11-07T08:30"


def test_errors_go_beside_their_field_in_the_dashboards_words() -> None:
    assert field_errors("tenant: a cycle belongs to one tenant; give --tenant") == {
        "tenant": "A cycle belongs to one tenant; choose a tenant"
    }
    msg = field_errors("amount: expected a decimal number, got '1.200,00'")["amount"]
    assert "'1.200,00'" in msg and "1200.00" in msg
    assert field_errors("something odd") == {"": "something odd"}
