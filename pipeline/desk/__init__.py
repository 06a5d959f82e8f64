"""The web desk: accounts and their sign-in, sessions, the audit log (and, to come, the pages).

The top layer, beside ``cli/``: it may use everything below it, and nothing below uses it.
Its tables live in the journal's SQLite file, made and opened by the desk itself
(:mod:`pipeline.desk.store`).
"""
