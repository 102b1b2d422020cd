"""Built-in authenticators: anonymous, HTTP basic, bearer token."""
