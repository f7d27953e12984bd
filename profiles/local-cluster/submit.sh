#!/usr/bin/env bash
# A stand-in for a scheduler's submit command (sbatch, qsub): Snakemake's cluster-generic
# executor calls it with the job script as its last argument. It starts the job as a background
# process in a session of its own and prints a job id for status.sh. The job's output and, when
# it ends, its exit code are kept in .snakemake/local-cluster/ under the working directory.
set -euo pipefail
jobscript="${!#}"
queue=".snakemake/local-cluster"
mkdir -p "$queue"
job="$(mktemp "$queue/job-XXXXXX")"  # a unique name; its file holds the job script's path
echo "$jobscript" >"$job"
# the job's process group is its own (setsid): cancel.sh stops the job and everything it started
setsid bash -c 'echo $$ >"$2.pid"; bash "$1" >"$2.log" 2>&1; echo $? >"$2.exit.tmp"; mv "$2.exit.tmp" "$2.exit"' \
    _ "$jobscript" "$job" </dev/null >/dev/null 2>&1 &
basename "$job"
