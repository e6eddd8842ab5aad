"""One config loader for world, data, train, eval and demo (placeholder until the loader lands)."""
