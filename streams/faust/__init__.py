"""The one Faust seam. Everything that knows Faust's types and quirks lives here, so the stages in
streams/ stay plain asyncio over ports:

    app.py        the app factory and the ingest agent (raw bytes, no auto-ack), the flush and rollup tasks
    gaps.py       the delivery guard: contiguous offsets per partition, seeks back over holes Faust leaves
    windows.py    the WhatsApp window table, its cache, and the empty-context read of Faust's RocksDB store
    rebalance.py  the single rebalance hook every holder of per-partition state registers with
    producer.py   the dead-letter publisher and the changelog barrier, on the app's producer
"""
