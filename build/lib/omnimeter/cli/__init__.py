"""The command line and what only it composes: the worker process, the local broker, the demo, the
traffic generator, offline rating, rebuild and reconcile. The top layer: it may import every package."""
