"""The Faust app and its stages: ingest (parse, validate, dedupe, dead-letter) then the sink flush.

`streams.app.create_app` builds the app (no import-time singleton); `streams.ingest.IngestStage` holds
the stage logic independent of Faust so that offline tools and tests run exactly the same code.
"""
