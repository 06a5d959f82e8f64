"""Approve, sign and archive what a Thai district public health office publishes on its website."""

import re
import warnings

from cryptography.utils import CryptographyDeprecationWarning

__version__ = "0.1.0"

# pyHanko (0.38) imports cryptography's DSA key classes, and cryptography (51 here) warns of
# DSA at that import: a line on stderr before every command's own output, about an algorithm
# the pipeline never uses. Exactly that warning is silenced, by category and message, here,
# before anything imports pyHanko; every other warning still shows.
warnings.filterwarnings(
    "ignore", category=CryptographyDeprecationWarning,
    message=re.escape("DSA is deprecated and support will be removed in a future release"))
