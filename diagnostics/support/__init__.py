"""Small services every stage uses: logging set-up, rate limits, durations, the
state DB, file-mode checks, lazy exports, AWS environment checks.
"""
