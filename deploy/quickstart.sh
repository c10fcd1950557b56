#!/usr/bin/env bash
# The README's main job: a local 3-host cluster (network namespaces, each with
# its own agent), the web example applied and waited for, and its pods shown
# spread over the hosts.
#   deploy/quickstart.sh        bring the cluster up (or reuse it) and deploy the example
#   deploy/quickstart.sh down   remove everything the cluster made
set -euo pipefail
cd "$(dirname "$0")/.."
SHOAL=(node dist/cli/main.js)
NAME=${SHOAL_CLUSTER:-dev}

if [ "${1:-up}" = "down" ]; then
  exec "${SHOAL[@]}" cluster down --name "$NAME"
fi

set -x
"${SHOAL[@]}" cluster up --nodes 3 --name "$NAME"
"${SHOAL[@]}" apply -f deploy/examples/web.yaml --wait --timeout 3m
"${SHOAL[@]}" get pods -o wide
"${SHOAL[@]}" get deploy,svc,ep
# The page, from host 1, through the Service's virtual IP (any host's pod answers).
VIP=$("${SHOAL[@]}" get svc web -o jsonpath='{.spec.clusterIP}')
nsenter --net="/run/netns/shoal-$NAME-1" wget -q -O - "http://$VIP/"
{ set +x; } 2>/dev/null
echo
echo "The cluster stays up: try 'shoal get nodes', 'shoal scale deploy/web --replicas 5',"
echo "'kubectl get pods -w'. Remove it with: deploy/quickstart.sh down"
