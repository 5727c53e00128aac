"""Black-box acceptance tests: real ``blobstream serve`` processes over loopback."""
