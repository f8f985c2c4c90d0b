#!/usr/bin/env bash
# What tests/test_compose.py cannot check without a Docker engine, for a maintainer who has one:
# the images pull (quay.io, Docker Hub) and build (Maven in the image), every service becomes
# healthy, the set-up job succeeds, and the smoke test (Kafka -> Spark -> Parquet on MinIO)
# passes inside the JupyterLab container, against the compose network's addresses.
#
#     scripts/check-compose-with-engine.sh            # the default stack (Spark in the kernel)
#     scripts/check-compose-with-engine.sh --cluster  # also the spark-cluster profile
#
# The whole run takes minutes: the first build fetches Python wheels and Spark's jars.
# --cluster needs lab_utils.pipeline.session to give executors a reachable driver address (see the
# README section on the compose stack); until then the smoke test fails there.
#
# Uses a project name of its own and deletes its volumes at the end: your lab data is not touched.
# It publishes the lab's ports, so stop the native stack first (`make down`).
set -euo pipefail
cd "$(dirname "$0")/.."

project=streaming-lab-check
compose=(docker compose -p "$project")
extra_env=()
if [[ "${1:-}" == "--cluster" ]]; then
  compose+=(--profile spark-cluster)
  extra_env=(-e SPARK_MASTER=spark://spark-master:7077)
fi

if [[ ! -f .env ]]; then
  python3 -c "from lab_utils import config; config.ensure_env_file()"
  echo "wrote .env with fresh secrets"
fi

cleanup() {
  status=$?
  if (( status != 0 )); then
    "${compose[@]}" ps -a || true
    "${compose[@]}" logs --no-color --tail 80 || true
  fi
  "${compose[@]}" down --volumes --remove-orphans
  exit "$status"
}
trap cleanup EXIT

docker compose version
# --wait: returns once every service is healthy (or the one-shot exited 0), fails otherwise.
time "${compose[@]}" up -d --build --wait --wait-timeout 600
"${compose[@]}" ps

# (${a[@]+...}: an empty array under `set -u` in macOS's bash 3.2)
"${compose[@]}" exec -T ${extra_env[@]+"${extra_env[@]}"} jupyter \
  python -m pytest -p no:cacheprovider -q tests/test_smoke.py
# The host listener too: a program on this machine reaches Kafka at 127.0.0.1:9092.
"${compose[@]}" exec -T kafka \
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server 127.0.0.1:9092 --describe --topic transactions
echo "compose stack OK"
