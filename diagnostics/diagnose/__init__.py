"""One failure in, one diagnosis out: the pipeline, fix verification, folding
repeats, widening ARNs, and explaining decoded input.
"""
