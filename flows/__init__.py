"""Prefect flows: thin orchestration over the citecast core."""
