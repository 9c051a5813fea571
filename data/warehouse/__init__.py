"""Cohort analytics as columnar queries: the cohort frame registered in an engine (DuckDB
in-process by default; PostgreSQL, Spark or another Ibis backend by connection string) with
tables derived from it once (the waits in long form, pre-aggregated cubes), the cohort filter
compiled to the engine's expressions, and the aggregates behind Overview, Pathways, the Journeys
variants and the Worklist's ranking. The pandas code in data.cohorts, data.cohort_filter and
data.analytics.variants stays the reference: the engine counts, and those modules turn the
counts into the same tables.
"""
