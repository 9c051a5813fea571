"""Cohort analytics as columnar queries: the cohort frame registered in an engine (DuckDB
in-process by default; PostgreSQL, Spark or another Ibis backend by connection string), the
cohort filter compiled to the engine's expressions, and the aggregates behind Overview and
Pathways. The pandas code in data.cohorts and data.cohort_filter stays the reference: the
engine returns counts, medians and quantiles, and data.cohorts turns them into the same tables.
"""
