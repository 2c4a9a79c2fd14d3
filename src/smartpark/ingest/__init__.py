"""The ingest service (docs/ingest.md): MQTT telemetry in, validated, batched, durable.

::

    subscriber (aiomqtt, QoS 1, persistent session, manual ack)
      → decode (smartpark.core.contract) → validation (registry) → bounded queue
      → batcher (N readings or T ms) → writer (Store.write in a thread, retries, bisect)
      → ack every message of the batch, in arrival order

A message is acknowledged to the broker only once its readings are in the store (or,
for readings the store refuses, in the dead-letter table), so a crash at any point
loses nothing: the broker redelivers and the store overwrites the same points.
"""
