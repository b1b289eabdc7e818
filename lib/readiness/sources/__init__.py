"""Sources fetch read-only data from one system each and never judge it."""
