#!/usr/bin/env bash
# Set up and run the main job: `pulumi up` for a stack (default: dev) with the
# state kept in local files (./.pulumi-state) and secrets encrypted with a
# passphrase, so no Pulumi Cloud account is needed.
# Usage: scripts/deploy.sh [stack] [extra `pulumi up` arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${1:-dev}
shift || true
command -v pulumi >/dev/null || { echo "error: the Pulumi CLI is not installed (see README, Prerequisites)" >&2; exit 1; }
command -v az >/dev/null && az account show >/dev/null 2>&1 || \
  echo "warning: no Azure CLI login found; Pulumi uses your Azure credentials (az login, or ARM_* variables)" >&2
scripts/setup-venv.sh requirements.txt
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "note: PULUMI_CONFIG_PASSPHRASE is not set; Pulumi will ask for the passphrase that protects this stack's secrets" >&2
fi
pulumi stack select --create --secrets-provider passphrase "$STACK"
pulumi up --stack "$STACK" "$@"
