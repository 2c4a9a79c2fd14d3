"""Grafana for smartpark: dashboards generated from code, the datasource, and upload.

- :mod:`smartpark.grafana.dashboards`: the zone overview, park and operations dashboards;
- :mod:`smartpark.grafana.kpis`: KPI queries and panels whose units, descriptions and
  reference lines come from the analytics catalogue and targets, never restated;
- :mod:`smartpark.grafana.panels`: builders for Grafana's dashboard JSON model;
- :mod:`smartpark.grafana.needs`: which panels a dashboard shows: only those its scope's
  meters can give data (each target names the quantities it needs);
- :mod:`smartpark.grafana.datasource`: the InfluxDB (InfluxQL) datasource, 1.x and 2.x/3.x;
- :mod:`smartpark.grafana.interpolate`: Grafana's macro and variable interpolation, so the
  queries can be run against InfluxDB outside Grafana;
- :mod:`smartpark.grafana.scoping`: who sees what: a folder, a team and a fixed dashboard
  per park, the zone folder for the zone's committee;
- :mod:`smartpark.grafana.provisioning`: that plan as provisioning files (one provider per
  park folder);
- :mod:`smartpark.grafana.push`: idempotent upload of the plan, teams and folder permissions
  through ``grafana-client`` (the ``grafana`` extra, imported only there).

The generated files live in ``deploy/grafana/dashboards/``; never edit them by hand.
"""
