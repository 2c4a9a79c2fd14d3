"""The edge gateway (docs/gateway.md): poll meters, keep every reading on disk, publish.

::

    drivers/ (modbus, simulator, csv_replay) ─▶ scheduler ─▶ outbox (SQLite WAL)
                                                               │ oldest-first, bounded
                                        publisher (paho-mqtt QoS 1) ─▶ broker
                                                               │ PUBACK
                                                  delete from outbox

A reading is committed to the outbox before anything is published and deleted only after
the broker acknowledged the message that carried it, so a crash, a power cut or a broker
outage loses nothing the outbox accepted.
"""
