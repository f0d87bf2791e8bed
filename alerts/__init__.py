"""Prometheus rules from code: CloudWatch-named recording rules and CloudWatch-shaped alarms."""
