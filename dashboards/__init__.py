"""The Dash UI and the generated Grafana dashboards."""
