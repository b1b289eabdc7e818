"""Analyst views: the tables and charts each area notebook shows, one module per area.
Notebooks call these so their cells stay one line and the logic stays testable."""
