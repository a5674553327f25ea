"""One dashboard with drill-down, alerts by issue type, runbooks per alert: pure renderers of the fleet and its plan."""
