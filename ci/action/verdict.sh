#!/usr/bin/env bash
# The action's last step: fail the job for lint findings at the failure threshold or a failed
# image gate, after the SARIF upload and the summary have happened.
set -euo pipefail
status=0
if [ "${LINT_EXIT:-0}" != 0 ]; then
  echo "imgopt: lint findings at or above the failure threshold (see the annotations and the job summary)"
  status=1
fi
if [ "${ANALYZE_EXIT:-0}" != 0 ] && [ -n "${ANALYZE_EXIT:-}" ]; then
  echo "imgopt: the image failed its gates (see the job summary)"
  status=1
fi
exit "$status"
