"""When a record in ``error`` is tried again.

A denied call (``UpstreamDenied``) may be an IAM policy still propagating, so it is retried
soon and then less and less often: at the next reconcile after the first failure, then
``base * 2**(n-2)`` seconds after the n-th, capped, for ``denied_limit`` failures. Any other rejection (and a denial that outlived its
bound) is retried only at the cap: the reconcile still tries it now and then, since the
cause may have been fixed outside the service, but it costs one call per cap period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import ServiceError, UpstreamDenied
from chalicelib.models import iso


@dataclass(frozen=True)
class ErrorBackoff:
    base_seconds: float = 60.0
    cap_seconds: float = 21600.0
    denied_limit: int = 10

    def delay(self, error: ServiceError, failures: int) -> float:
        """Seconds before the next try after the ``failures``-th failure in a row."""
        if isinstance(error, UpstreamDenied) and failures <= self.denied_limit:
            if failures <= 1:
                return 0.0
            return float(min(self.base_seconds * 2 ** (failures - 2), self.cap_seconds))
        return float(self.cap_seconds)

    def next_retry(self, error: ServiceError, previous_failures: int, now: datetime) -> tuple[int, str]:
        """The failure count and the time of the next try, after one more failure."""
        failures = previous_failures + 1
        return failures, iso(now + timedelta(seconds=self.delay(error, failures)))
