#!/usr/bin/env bash
# cloudnet dns beside dnsmasq: throughput, latency, memory and programming latency. Loopback only.
# Environment: BENCH_PHASES=query,memory,programming  BENCH_QPS_SECONDS  BENCH_LATENCY_SECONDS
#              BENCH_LATENCY_QPS  BENCH_MEMORY_SERVICES  BENCH_PROGRAMMING_SERVICES
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
exec node --import tsx bench/dns/run.ts
