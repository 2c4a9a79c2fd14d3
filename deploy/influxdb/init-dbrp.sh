#!/bin/sh
# Run once by the influxdb:2.x image after its initial setup (mounted into
# /docker-entrypoint-initdb.d by deploy/compose.yaml). Maps the InfluxQL database
# "smartpark" (retention policy "autogen") to the setup bucket, so the v1 compatibility
# API (/query, /write) that smartpark's reads and Grafana's InfluxQL datasource use
# reaches the bucket that ingest writes through /api/v2/write.
set -eu
influx v1 dbrp create \
    --org "${DOCKER_INFLUXDB_INIT_ORG}" \
    --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
    --db "${SMARTPARK_INFLUX_DATABASE:-smartpark}" \
    --rp autogen \
    --default
