"""Tags as versions, with the Go resource's exact semantics.

- ``semver``: lenient semantic versions (Masterminds ``NewVersion``) and
  their precedence.
- ``constraint``: ``semver_constraint`` as Masterminds ``NewConstraint``
  reads it.
- ``selection``: semver mode of ``check``, which tags are versions and
  which to report.
- ``tags``: which tags ``out`` pushes (``version``, ``bump_aliases``,
  ``additional_tags``).
"""
