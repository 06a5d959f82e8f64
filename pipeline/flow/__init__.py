"""Requests through their states: the journal, the work folders, the steps, the watcher and its
workers.
"""
