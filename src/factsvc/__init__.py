"""factsvc: an async Tornado REST API for exact factorials and user accounts."""

__version__ = "0.1.0"
