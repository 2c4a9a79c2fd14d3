"""smartpark ingest."""
