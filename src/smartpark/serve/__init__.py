"""``smartpark serve``: the read API and web view over the store (docs/api.md).

Above analytics: it reads the store and rollups as the CLI does (KPI rows, land use,
alert state, freshness), filtered by the caller's scope (:mod:`scopes`), authenticated
by hashed tokens and argon2 password hashes (:mod:`access`).
"""
