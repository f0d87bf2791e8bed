"""PostgreSQL's jsonlog, tailed per instance: classified lines become counters, events and
OpenTelemetry log records."""
