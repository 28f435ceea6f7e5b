from __future__ import annotations

from diagnostics.cli import main

raise SystemExit(main())
