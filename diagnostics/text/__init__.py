"""Text helpers every layer may use: escaping for terminals and JSON, English
articles.
"""
