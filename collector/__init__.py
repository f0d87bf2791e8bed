"""The collector: from PostgreSQL instances to Prometheus metrics, PI samples and events."""
