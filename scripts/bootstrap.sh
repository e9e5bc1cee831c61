# Sourced by the other scripts: create .venv and install the project once per pyproject/constraints change.
# constraints.txt pins every package (direct and transitive) so the project's own runs are reproducible;
# pyproject.toml keeps the ranges users of the package get.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONFORMANCE_VENV:-$ROOT/.venv}"
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[dev]" >&2
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
