"""Package indexes: the simple API (PEP 503/691), page cache, credentials, retries, routing."""
