"""What ``in`` reads from a registry: one image, for one platform.

- ``image``: the manifest a version names, the platform's image out of an
  index, its config, and its blobs as verified streams; ``FetchedImage`` is
  what every format plugin receives.
- ``prefetch``: ``PrefetchingFetcher``, which downloads a few layers ahead
  of the one being applied (spooled to disk) and blobs in parallel.
- ``metadata``: the labels and annotations ``in`` reports as metadata.

``registry_image.core.fetch`` is a public import path (format plugins take a
``FetchedImage``), so the names of ``image`` are exported here.
"""

from .image import (
    MAX_CONFIG_BYTES,
    MAX_INDEX_DEPTH,
    BlobFile,
    FetchedImage,
    ImageSource,
    LayerFetcher,
    LayerRef,
    Readable,
    SequentialFetcher,
    fetch_image,
    select_platform,
    this_platform,
    wanted_platform,
)
from .prefetch import DEFAULT_LAYER_WORKERS, PrefetchingFetcher

__all__ = [
    "DEFAULT_LAYER_WORKERS",
    "MAX_CONFIG_BYTES",
    "MAX_INDEX_DEPTH",
    "BlobFile",
    "FetchedImage",
    "ImageSource",
    "LayerFetcher",
    "LayerRef",
    "PrefetchingFetcher",
    "Readable",
    "SequentialFetcher",
    "fetch_image",
    "select_platform",
    "this_platform",
    "wanted_platform",
]
