"""Test helpers for smartpark's tests and your own (as ``structlog.testing`` is for structlog).

Real servers, real clients, real payloads: nothing here is a mock. Import the modules
you need (this package imports none of them, so it stays light)::

    smartpark.testing.servers        real mosquitto and influxd on free loopback ports
        Mosquitto, Influxd           start/stop/restart/kill; context managers
        free_port, wait_until        a free 127.0.0.1 port; a bounded wait on a predicate
        find_mosquitto, find_influxd the binaries, or None (skip a test without them)
        LOOPBACK, ServerError, ServerNotInstalledError
    smartpark.testing.payloads       wire-contract payloads (docs/contract.md)
        reading, payload             valid by default; OMIT leaves a field out
        invalid_reading, invalid_payload
                                     rejected by contract.decode with a given reason
        READING_REASONS, PAYLOAD_REASONS
                                     every rejection reason -> the field it names
    smartpark.testing.mqtt           blocking paho clients (MQTT 3.1.1)
        Publisher                    QoS 1, returns once every PUBACK arrived (bounded)
        Collector                    subscribes, keeps every message; readings, wait_for
        Broker, Message, DEFAULT_TIMEOUT_S
    smartpark.testing.memory_store   an in-memory Store with the real stores' semantics
        MemoryStore                  last write wins per (meter, ts); refuses what they
                                     refuse; hooks to make writes fail or wait

Guide and examples: docs/testing.md. The runtime never imports this package (only
``smartpark demo`` uses :class:`~smartpark.testing.servers.Mosquitto`).
"""
