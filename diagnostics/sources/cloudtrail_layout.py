"""Names in CloudTrail's delivery layout: ``AWSLogs/[o-id/]<account>/CloudTrail/<region>/``.

Shared by the ``cloudtrail_dir`` and ``s3`` sources, which walk the same tree
on disk and in a bucket.  Use ``fullmatch``.
"""

from __future__ import annotations

import re

# Linear: a literal prefix and one bounded class.
ORG = re.compile(r"o-[a-z0-9]{10,32}")
# Linear: fixed width.
ACCOUNT = re.compile(r"\d{12}")
# Linear: one bounded class (any directory name a region folder could have).
REGION_DIR = re.compile(r"[a-z0-9-]{1,32}")
# Linear: '-' separates disjoint letter and digit runs (a real region name).
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
