"""A demo of the resource against a local registry it starts itself."""
