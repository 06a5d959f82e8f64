"""The archive: one bundle per request, the webmaster's publication record, timestamps refreshed
over the years.
"""
