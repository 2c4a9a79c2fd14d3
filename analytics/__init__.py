"""smartpark analytics."""
