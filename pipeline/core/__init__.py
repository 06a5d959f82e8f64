"""What every stage shares: the request's data types, Thai text and dates, safe file handling,
logging, faults of the machine, checks of typed input.
"""
