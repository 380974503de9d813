#!/usr/bin/env bash
# Regenerates the Python-reference fixtures into a temporary folder and fails if they differ
# from the committed ones beyond float rounding (scripts/reference/compare_fixtures.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 scripts/reference/make_fixtures.py "$tmp"
/usr/bin/python3 scripts/reference/compare_fixtures.py test/fixtures "$tmp"
