"""The mini-cluster: real PostgreSQL processes that behave like Aurora PostgreSQL."""
