"""The Concourse commands ``check``, ``in`` and ``out`` and their CLI."""
