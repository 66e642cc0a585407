#!/usr/bin/env bash
# Run the server's end-to-end tests inside a network namespace with no interface but
# loopback, to prove that nothing in stead (or its tests) reaches beyond this machine.
#
#   .ci/netns-e2e.sh                 # the whole suite except the editor tests
#   .ci/netns-e2e.sh tests/test_egress_lsp.py -q    # any pytest arguments
#
# Uses `unshare -n` (root) or `unshare -rn` (an unprivileged user namespace).  Where
# neither is permitted it prints "SKIPPED: ..." with the reason and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
if [ $# -eq 0 ]; then set -- tests -m "not editor" -q; fi

if err=$(unshare -n true 2>&1); then
    ns=(unshare -n)
elif err2=$(unshare -rn true 2>&1); then
    ns=(unshare -rn)
else
    echo "SKIPPED: network namespaces are not permitted here (unshare -n: ${err:-failed}; unshare -rn: ${err2:-failed})"
    exit 0
fi

inner='
set -euo pipefail
if command -v ip >/dev/null 2>&1; then ip link set lo up; else ifconfig lo up; fi
"$0" - <<"PY"
import socket
names = sorted(name for _, name in socket.if_nameindex())
assert names == ["lo"], f"expected only loopback, found {names}"
for host in ("1.1.1.1", "8.8.8.8"):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, 443))
    except OSError:
        pass
    else:
        raise SystemExit(f"netns: {host} is reachable; the namespace is not isolated")
    finally:
        s.close()
print(f"netns: interfaces {names}; the outside world is unreachable")
PY
export STEAD_IN_NETNS=1
exec "$0" -m pytest -p no:cacheprovider "$@"
'
echo "+ ${ns[*]} $py -m pytest $*"
exec "${ns[@]}" bash -c "$inner" "$py" "$@"
