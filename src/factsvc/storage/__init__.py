"""Adapters to Redis and MongoDB: the only modules that import their drivers."""
