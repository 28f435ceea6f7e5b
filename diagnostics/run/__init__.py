"""The scan driver: one pass over files, directories or stdin, on one core or
several, with its progress bar.
"""
