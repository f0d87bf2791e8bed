"""What tests and benchmarks share: the zero-loss checker, a real PostgreSQL (alone or as a
primary/standby pair), waiting on a condition. Never part of the product: no Borealis package
imports it (import-linter's `test-support-outside` contract), and it is not packaged."""
