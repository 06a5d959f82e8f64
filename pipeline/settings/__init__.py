"""The office's settings: pipeline.toml read into typed dataclasses, and the workspace's
folders.
"""
