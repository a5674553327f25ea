"""cellfleet: the fleet model, its loaders and the `python -m fleet` CLI."""
