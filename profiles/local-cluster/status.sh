#!/usr/bin/env bash
# A stand-in for a scheduler's status query (squeue/sacct): Snakemake's cluster-generic executor
# calls it with a job id printed by submit.sh and expects one word: running, success or failed.
set -euo pipefail
job=".snakemake/local-cluster/$1"
if [[ ! -f "$job" ]]; then
    echo failed  # an id this queue never gave out
elif [[ ! -f "$job.exit" ]]; then
    echo running
elif [[ "$(cat "$job.exit")" == 0 ]]; then
    echo success
else
    echo failed
fi
