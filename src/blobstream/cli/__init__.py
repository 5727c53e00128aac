"""The ``blobstream`` command line."""
