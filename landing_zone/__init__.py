"""Landing Zone: API versions at the edge (routes config, lifecycle, readiness gate, gateway renderers, cell router)."""
