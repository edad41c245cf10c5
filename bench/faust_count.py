"""F0: a naive Faust agent that only counts records (the baseline the pipeline is compared with).

Usage: python -m bench.faust_count BOOTSTRAP TOPIC EXPECTED GROUP DATADIR OUT.json
Writes {"records", "seconds", "rate"} to OUT.json (Faust takes over stdout) and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import faust
import mode.loop


def main() -> None:
    bootstrap, topic, expected, group, datadir, out = sys.argv[1:7]
    total = int(expected)
    app = faust.App(
        group,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        datadir=datadir,
        consumer_auto_offset_reset="earliest",
        topic_partitions=6,
    )
    src = app.topic(topic, value_type=bytes, value_serializer="raw", key_serializer="raw")
    state = {"n": 0, "t0": 0.0}

    @app.agent(src)
    async def count(stream: faust.StreamT) -> None:
        async for _ in stream:
            if state["n"] == 0:
                state["t0"] = time.perf_counter()
            state["n"] += 1
            if state["n"] >= total:
                elapsed = time.perf_counter() - state["t0"]
                Path(out).write_text(
                    json.dumps({"records": state["n"], "seconds": elapsed, "rate": state["n"] / elapsed})
                )
                os._exit(0)  # stopping a Faust app from inside its own agent can hang: measured, done

    if os.environ.get("OMNIMETER_FAUST_EVENT_LOOP") == "uvloop":  # the same loop as the worker it is compared with
        mode.loop.use("uvloop")
    faust.Worker(app, loglevel="error", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
