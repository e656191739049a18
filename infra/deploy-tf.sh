#!/usr/bin/env bash
# Applies the packaged Terraform module (build/terraform, from `make package`):
#   bash infra/deploy-tf.sh [dev|prod]           (make deploy-tf STAGE=prod)
# Optional environment: GITHUB_REPOSITORY (https URL), GITHUB_TOKEN, GITHUB_BRANCH
# (default main) for the Amplify-hosted frontend; FRONTEND_ORIGIN (https://host of a
# client hosted elsewhere, for the attachments bucket's CORS rule).
# State: .chalice/deployed/terraform-<stage>.tfstate (git-ignored, outside build/
# so `make clean` cannot lose it; it holds the GitHub token, keep it private).
# Needs: terraform >= 1.9 and AWS credentials in the environment or a profile.
set -euo pipefail
cd "$(dirname "$0")/.."

stage="${1:-dev}"
built="$(cat build/stage 2>/dev/null || true)"
test "$built" = "$stage" || {
  echo "build/ holds stage '${built:-nothing}', not '$stage': run make package STAGE=$stage" >&2
  exit 1
}
state="$PWD/.chalice/deployed/terraform-$stage.tfstate"
mkdir -p "$(dirname "$state")"
export TF_VAR_github_repository="${GITHUB_REPOSITORY:-}"
export TF_VAR_github_access_token="${GITHUB_TOKEN:-}"
export TF_VAR_github_branch="${GITHUB_BRANCH:-main}"
export TF_VAR_frontend_origin="${FRONTEND_ORIGIN:-}"

echo "== 1. terraform init (state: $state)"
terraform -chdir=build/terraform init -input=false -reconfigure -backend-config="path=$state"

echo "== 2. terraform apply"
terraform -chdir=build/terraform apply -input=false

echo "== 3. outputs"
echo "WebSocket URL:  $(terraform -chdir=build/terraform output -raw websocket_url)"
echo "Callback URL:   $(terraform -chdir=build/terraform output -raw connections_callback_url)"
echo "Attachments:    s3://$(terraform -chdir=build/terraform output -raw attachments_bucket)"
