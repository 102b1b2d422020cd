"""What ``in`` reads from a registry: one image, for one platform.

- ``image``: the manifest a version names, the platform's image out of an
  index, its config, and its blobs as verified streams; ``FetchedImage`` is
  what every format plugin receives.
- ``metadata``: the labels and annotations ``in`` reports as metadata.

``registry_image.core.fetch`` is a public import path (format plugins take a
``FetchedImage``), so the names of ``image`` are exported here.
"""

from .image import (
    ENTRY_DEFAULT_PLATFORM,
    MAX_CONFIG_BYTES,
    MAX_INDEX_DEPTH,
    BlobDescriptor,
    FetchedImage,
    ImageManifest,
    ImageSource,
    LayerFetcher,
    LayerRef,
    Readable,
    SequentialFetcher,
    fetch_image,
    index_entries,
    parse_descriptor,
    parse_image_manifest,
    platform_matches,
    platform_text,
    select_platform,
    this_platform,
    wanted_platform,
)

__all__ = [
    "ENTRY_DEFAULT_PLATFORM",
    "MAX_CONFIG_BYTES",
    "MAX_INDEX_DEPTH",
    "BlobDescriptor",
    "FetchedImage",
    "ImageManifest",
    "ImageSource",
    "LayerFetcher",
    "LayerRef",
    "Readable",
    "SequentialFetcher",
    "fetch_image",
    "index_entries",
    "parse_descriptor",
    "parse_image_manifest",
    "platform_matches",
    "platform_text",
    "select_platform",
    "this_platform",
    "wanted_platform",
]
