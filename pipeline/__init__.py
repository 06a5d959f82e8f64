"""Approve, sign and archive what a Thai district public health office publishes on its website."""

__version__ = "0.1.0"
