"""smartpark gateway."""
