"""``smartpark serve``: the read API and web view over the store (docs/api.md).

Above analytics: it reads the store and rollups as the CLI does (KPI rows, land use,
alert state, freshness), filtered by the caller's scope (:mod:`scopes`), authenticated
by hashed tokens and argon2 password hashes (:mod:`access`).
"""

import importlib.util as _util

from smartpark.core.errors import MissingExtraError

_NEEDS = ("fastapi", "uvicorn", "jinja2", "argon2")
_missing = [name for name in _NEEDS if _util.find_spec(name) is None]
if _missing:
    raise MissingExtraError(
        f"smartpark serve and tokens need {', '.join(_missing)}: "
        "pip install 'smartpark[serve]' (or '.[serve]' in a clone)"
    )
