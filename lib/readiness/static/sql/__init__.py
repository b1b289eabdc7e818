"""Postgres SQL: pglast facts, the migration replay on a scratch server, catalog and RLS."""
