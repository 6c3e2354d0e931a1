#!/bin/sh
# One-shot (service `minio-init`, image minio/mc): creates Moviola's buckets.
# The app also creates them at start; this makes a fresh deployment ready before the app runs.
set -eu
PREFIX="${STORAGE_BUCKET_PREFIX:-moviola}"
i=0
until mc alias set moviola "${S3_ENDPOINT:-http://minio:9000}" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then echo "MinIO did not answer" >&2; exit 1; fi
  sleep 2
done
for kind in uploads originals proxies thumbnails exports; do
  mc mb --ignore-existing "moviola/${PREFIX}-${kind}"
done
echo "buckets ready"
