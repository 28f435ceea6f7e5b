"""Bytes in: streams, regular files through mmap, gzip, UTF-16, directories,
and the marker search that finds the lines worth reading.
"""
