"""Helpers the tests share: clients, fakes, a fault proxy, server and settings helpers."""
