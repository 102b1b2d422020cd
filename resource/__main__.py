"""``python -m registry_image.resource check|in|out [DIR]``."""

import sys

from .cli import console

sys.exit(console())
