#!/usr/bin/env bash
# A stand-in for a scheduler's cancel command (scancel): Snakemake's cluster-generic executor
# calls it with the ids of jobs still running when the workflow is interrupted.
queue=".snakemake/local-cluster"
for id in "$@"; do
    if [[ -f "$queue/$id.pid" && ! -f "$queue/$id.exit" ]]; then
        kill -TERM -- "-$(cat "$queue/$id.pid")" 2>/dev/null || true
    fi
done
