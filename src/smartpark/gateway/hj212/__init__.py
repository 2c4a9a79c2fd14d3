"""HJ 212 (HJ 212-2017, and HJ/T 212-2005 packets) data loggers dialling into the gateway.

- :mod:`.codec`: CRC, frame scanning with resynchronisation, packet parse/encode, the
  data response.
- :mod:`.codes`: pollutant codes -> smartpark quantities and units.
- :mod:`.config`: the ``[hj212]`` table (:func:`parse_hj212`).
- :mod:`.receiver`: the TCP server (:class:`Hj212Receiver`).
- :mod:`.simulator`: a logger that dials in and uploads data (tests, bench, demo).

See docs/gateway.md.
"""

from smartpark.gateway.hj212.config import Hj212Config, LoggerConfig, parse_hj212
from smartpark.gateway.hj212.receiver import Hj212Receiver, ReceiverStats

__all__ = ["Hj212Config", "Hj212Receiver", "LoggerConfig", "ReceiverStats", "parse_hj212"]
