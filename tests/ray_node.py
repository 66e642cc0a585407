"""`ray start` for a test node that stays on loopback.

Ray 2.60 rewrites a loopback `--node-ip-address` or `--address` into the machine's outward
address (so that other hosts could reach the node), which would put a test cluster on the
network.  For a multi-node cluster on one machine this launcher keeps loopback as given;
everything else is the real `ray start`.
"""

from __future__ import annotations

import sys

from ray._private import services

services.resolve_ip_for_localhost = lambda host: host

from ray.scripts.scripts import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
