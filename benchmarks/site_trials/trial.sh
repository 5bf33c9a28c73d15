#!/bin/bash
# usage: trial.sh SITE_DIR  (citecast.toml already written there)
cd "$1" || exit 1
rm -rf outbox .citecast
${CITECAST:-citecast} check > check.txt 2>&1; echo "check rc=$?"
grep -v 'weak page' check.txt | head -${HEAD:-12}; tail -1 check.txt
CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK=5000 timeout 900 ${CITECAST:-citecast} run --local --dry-run --week 2026-W49 > run.txt 2>&1; echo "run rc=$?"; tail -2 run.txt
