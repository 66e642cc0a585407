"""The approved-escalation end-to-end test again, inside a network namespace with only lo.

`.ci/netns-e2e.sh` runs the whole suite that way in CI; this keeps one fast case in the
ordinary run so a regression in the script shows up here too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("STEAD_IN_NETNS") == "1", reason="already in a netns")
def test_escalation_end_to_end_without_a_network() -> None:
    script = ROOT / ".ci" / "netns-e2e.sh"
    result = subprocess.run(
        [str(script), "tests/test_egress_lsp.py", "-q", "-k", "approved_send"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHON=sys.executable),
    )
    if result.stdout.startswith("SKIPPED:"):
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "netns: interfaces ['lo']; the outside world is unreachable" in result.stdout
    assert "1 passed" in result.stdout
