"""CloudTrail: records, the envelopes and documents they travel in, delivery
files, and the resource a record's request names.
"""
