"""The demo: simulated parks run through the real gateways, broker, ingest, store and
analytics in one process (``smartpark demo``). It sits above the parts it wires together;
the command ``smartpark.cli.demo`` parses the options and calls :func:`smartpark.demo.app.run`.
"""
