#!/bin/sh
# Helpers shared by the scripts.
log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
