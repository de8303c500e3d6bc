"""pytest plugin (fixtures come next)."""
