# The compose stack's Kafka WITH the Prometheus JMX exporter agent (docker-compose.monitoring.yml):
# the same apache/kafka image as docker-compose.yml, plus the agent jar that the native stack fetches
# (stack/monitoring/pom.xml, the same Maven command as lab_utils.services.monitoring.ensure_jmx_agent)
# and the broker's rules (stack/monitoring/kafka-jmx.yml). tests/test_compose_monitoring.py keeps the
# Kafka tag equal to docker-compose.yml's and checks this file with hadolint.

# ---------------------------------------------------------------- the agent jar, build time only
FROM python:3.11-slim-bookworm AS agent

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY stack/monitoring/pom.xml stack/monitoring/pom.xml
RUN --mount=type=cache,target=/root/.m2 \
    mvn -q -B -f stack/monitoring/pom.xml -Dlab.jars.dir=/agent package

# ---------------------------------------------------------------- the broker
FROM apache/kafka:4.4.0

COPY --from=agent /agent/ /opt/lab-monitoring/
COPY stack/monitoring/kafka-jmx.yml /opt/lab-monitoring/kafka-jmx.yml
