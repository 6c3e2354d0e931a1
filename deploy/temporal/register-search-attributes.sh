#!/bin/sh
# One-shot (service `temporal-setup`, image temporalio/admin-tools): waits for the Temporal frontend,
# then registers Moviola's custom search attributes (lib/temporal/search-attributes.ts).
# Idempotent: an attribute that already exists is not an error.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"

echo "waiting for Temporal at ${ADDRESS}"
i=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 90 ]; then echo "Temporal did not become healthy" >&2; exit 1; fi
  sleep 2
done
# auto-setup creates the default namespace; wait until it is visible.
until temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 150 ]; then echo "namespace ${NAMESPACE} not found" >&2; exit 1; fi
  sleep 2
done

register() {
  name="$1"; type="$2"
  if temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" | grep -qw "$name"; then
    echo "search attribute ${name} already registered"
    return 0
  fi
  temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
    --name "$name" --type "$type"
  echo "registered search attribute ${name} (${type})"
}

register TenantId Keyword
register OwnerId Keyword
register JobKind Keyword
register Stage Keyword
register StageSince Datetime
