"""Activation: feature flags from activation plans, rendered for the OpenFeature flagd evaluator.

Pure functions of typed models (the day is an argument): plans checked against the fleet, the
flagd flag file (schedule compiled into targeting), the readiness gate, operator views, the
cells' flagd sidecar spec and the PR view of flag changes.
"""
