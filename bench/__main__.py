"""Run every benchmark: ``make bench`` (``python -m bench``). The throughput figure prints last."""

from __future__ import annotations

import sys

from bench import retention, scale, sync, throughput


def main() -> None:
    sync.main(["--runs", "100000", "--rate", "50"])
    sys.stdout.flush()
    scale.main([])
    sys.stdout.flush()
    retention.main([])
    sys.stdout.flush()
    # Extend's Enterprise limit first, then the default 50/s, whose ratio line prints last.
    throughput.main(["--limit", "75"])
    sys.stdout.flush()
    throughput.main([])


if __name__ == "__main__":
    main()
