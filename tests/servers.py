"""The real-server harness, importable from tests as ``tests.servers``."""

from smartpark.localservers import *  # noqa: F403
from smartpark.localservers import __all__  # noqa: F401
