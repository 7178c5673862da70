"""Several instances of the service behind nginx: its configuration, and `make cluster`."""
