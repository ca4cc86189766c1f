#!/usr/bin/env bash
# missing_dependency.sh DEPENDENCY WHAT: stands in (as a ctest test of the same name) for a test
# that could not be registered because DEPENDENCY was not found at configure time, so that the
# suite fails instead of shrinking. It fails, naming what is missing, unless SSE_TEST_WITHOUT
# names DEPENDENCY (the developer opted out): then it exits 77, which ctest reports as skipped
# (SKIP_RETURN_CODE, tests/CMakeLists.txt).
set -euo pipefail
dependency=$1
what=$2
for d in ${SSE_TEST_WITHOUT//,/ }; do
    if [[ $d == "$dependency" ]]; then
        echo "SKIPPED (SSE_TEST_WITHOUT=$dependency): $what"
        exit 77
    fi
done
echo "FAILED: $dependency was not found at configure time, so $what." \
     "Install it (scripts/deps.sh) and re-run CMake, or opt out: SSE_TEST_WITHOUT=$dependency" >&2
exit 1
