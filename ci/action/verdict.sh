#!/usr/bin/env bash
# The action's last step: fail the job for lint findings at the failure threshold or a failed
# image gate or size review, after the SARIF upload and the summary have happened.
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
case "${SIZE_EXIT:-0}" in
  "" | 0) ;;
  1)
    echo "imgopt: the size review failed its gates (max-growth, max-size; see the job summary)"
    status=1
    ;;
  *)
    echo "imgopt: the size review could not build or compare the images (see its step's log)"
    status=1
    ;;
esac
exit "$status"
