"""Built-in formats for ``in``: rootfs, oci (docker-save tar), oci-layout."""
