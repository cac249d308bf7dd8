"""One claim's hunting throughput, run in its own process so a slow claim can be timed out:
``python -m benchmarks.hunt CLAIM_ID MAX_EXAMPLES`` prints one JSON object."""

from __future__ import annotations

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from kdverify.claims.profiles import get_profile  # noqa: E402
from kdverify.claims.registry import get_claim  # noqa: E402
from kdverify.claims.runner import search  # noqa: E402
from kdverify.claims.suite import budget_for, plan  # noqa: E402


def hunt(claim_id: str, max_examples: int) -> dict[str, Any]:
    """Search ``claim_id`` on its first family under the ``ci`` budget: ``max_examples``
    examples, or the profile's own (smaller) number for statistical claims."""
    profile = get_profile("ci")
    claim = get_claim(claim_id)
    family = claim.families[0]
    examples = min(max_examples, profile.statistical_examples) if claim.statistical else max_examples
    result = search(claim, family, profile, budget=budget_for(profile, plan()), max_examples=examples)
    checked = result.examples + result.undecided
    return {
        "claim": claim.id,
        "family": family,
        "examples": checked,
        "seconds": result.seconds,
        "examples_per_second": checked / result.seconds if result.seconds else None,
        "verdict": result.verdict,
    }


if __name__ == "__main__":
    print(json.dumps(hunt(sys.argv[1], int(sys.argv[2]))))
