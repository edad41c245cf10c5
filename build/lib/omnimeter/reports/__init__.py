"""The read side: queries on ClickHouse and their rendering as table, JSON or CSV."""
