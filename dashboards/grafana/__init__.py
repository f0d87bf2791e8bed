"""Grafana dashboards and provisioning, generated from dashboards.queries."""
