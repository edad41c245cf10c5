"""The data path, one module per stage, read in the order an event travels:

    records.py     what a stage receives from Kafka (a record, its ack), independent of the consumer
    ingest.py      parse and validate each record on arrival; cut batches; one background flush at a time
    flush.py       THE order of a flush, steps 1..7 (the only place that sequences one)
    dedupe.py      steps 1-2: skip outcomes a replay already stored; classify stored / duplicate / rejected
    rate.py        step 3: stored events become billable lines (pricing/), with the cycle usage for tiers
    deadletter.py  step 4: rejected outcomes become dead-letter records with reason headers
    rows.py        step 5: the rows of each table (columns in sinks/tables.py)
    faust/         the one Faust seam: app factory and agent, delivery guard, window table, rebalance hook

Stages receive ports (sinks/base.py), never the concrete store, so unit tests drive them with fakes.
"""
