"""Built-in transports: http(s) over a requests session."""
