"""The code rules (facts per file or per function) and the tables they fill."""
