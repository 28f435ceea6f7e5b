"""From marker hits to failures: one logical record from its physical lines
(joins, normalisation, code above), the cheap path, and the text's failures.
"""
