"""Buckets of time that can be compared: the usage report keeps every day of a longer previous period, and
the WhatsApp page's chart cuts the same buckets as the overview (counted from the period's first day)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from omnimeter.reports.period import GroupBy, Period
from omnimeter.reports.usage_reports import _buckets, previous_pairs
from omnimeter.reports.web.charts import counts_over_time


def test_a_31_day_previous_month_keeps_its_last_day_in_the_last_pair() -> None:
    november = Period(date(2026, 11, 1), date(2026, 11, 30), "UTC")
    october = november.previous()
    assert (october.first, october.last) == (date(2026, 10, 1), date(2026, 10, 31))
    pairs = previous_pairs(_buckets(november, GroupBy.DAY), _buckets(october, GroupBy.DAY))
    assert len(pairs) == 30 and pairs[0] == (date(2026, 11, 1), [date(2026, 10, 1)])
    assert pairs[-1] == (date(2026, 11, 30), [date(2026, 10, 30), date(2026, 10, 31)])
    paired = [d for _b, prev in pairs for d in prev]
    assert paired == [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]  # every previous day, once


def test_a_shorter_previous_period_leaves_the_last_buckets_without_a_pair() -> None:
    march = Period(date(2026, 3, 1), date(2026, 3, 31), "UTC")
    pairs = previous_pairs(_buckets(march, GroupBy.DAY), _buckets(march.previous(), GroupBy.DAY))
    assert [prev for _b, prev in pairs[-3:]] == [[], [], []]  # February has 28 days


def test_whatsapp_weeks_are_counted_from_the_periods_first_day() -> None:
    period = {"from": "2026-11-04", "to": "2026-11-20", "time_zone": "UTC", "kind": "days"}  # a Wednesday
    rows = [{"period": f"2026-11-{d:02d}", "inbound": "1", "outbound_sent": "2"} for d in range(4, 21)]
    spec = counts_over_time(rows, period, "week", date(2026, 12, 1), (("inbound", "in"), ("outbound_sent", "out")))
    assert spec["labels"] == ["Nov 4\u201310", "Nov 11\u201317", "Nov 18\u201320 (partial)"]
    assert [d["raw"] for d in spec["datasets"]] == [["7", "7", "3"], ["14", "14", "6"]]
    assert spec["partial"] == [False, False, True]
    assert sum(Decimal(v) for v in spec["datasets"][0]["raw"]) == len(rows)  # no day lost or counted twice


def test_no_whatsapp_bucket_after_today() -> None:
    period = {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "UTC", "kind": "days"}
    rows = [{"period": "2026-11-05", "inbound": "3"}, {"period": "2026-11-25", "inbound": "9"}]
    spec = counts_over_time(rows, period, "week", date(2026, 11, 10), (("inbound", "in"),))
    assert spec["labels"] == ["Nov 1\u20137", "Nov 8\u201314 (partial)"] and spec["datasets"][0]["raw"] == ["3", "0"]
