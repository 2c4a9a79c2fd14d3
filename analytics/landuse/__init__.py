"""Intensive land use: per-mu (亩均) evaluation, idle enterprises, park resource output.

The rules, defaults and their public sources are in docs/landuse.md. Inputs are plain
arrays (:class:`~analytics.landuse.dataset.Dataset`); outputs are arrays plus words
for every enterprise that is not graded and every flag raised.
"""
