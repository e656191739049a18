#!/usr/bin/env bash
# Deploys the packaged SAM template (build/cloudformation, from `make package`):
#   bash infra/deploy-cfn.sh [dev|prod]          (make deploy-cfn STAGE=prod)
# Optional environment: GITHUB_REPOSITORY (https URL), GITHUB_TOKEN, GITHUB_BRANCH
# (default main) for the Amplify-hosted frontend; FRONTEND_ORIGIN (https://host of a
# client hosted elsewhere, for the attachments bucket's CORS rule); STACK_NAME; ARTIFACT_BUCKET
# (an S3 bucket for the Lambda zip; created when missing).
# Needs: aws CLI v2 with credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

stage="${1:-dev}"
stack="${STACK_NAME:-serverless-chat-$stage}"
built="$(cat build/stage 2>/dev/null || true)"
test "$built" = "$stage" || {
  echo "build/ holds stage '${built:-nothing}', not '$stage': run make package STAGE=$stage" >&2
  exit 1
}

output() {  # output KEY: one output of the stack
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

echo "== 1. who and where"
account="$(aws sts get-caller-identity --query Account --output text)"
region="$(aws configure get region || true)"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$region}}"
test -n "$region" || { echo "no AWS region: set AWS_REGION or run aws configure" >&2; exit 1; }
export AWS_DEFAULT_REGION="$region"
bucket="${ARTIFACT_BUCKET:-serverless-chat-artifacts-$account-$region}"

echo "== 2. artifact bucket $bucket"
if ! aws s3api head-bucket --bucket "$bucket" 2>/dev/null; then
  aws s3 mb "s3://$bucket"
fi

echo "== 3. upload the Lambda zip and rewrite CodeUri"
aws cloudformation package \
  --template-file build/cloudformation/sam.json \
  --s3-bucket "$bucket" \
  --output-template-file build/cloudformation/packaged.yaml

echo "== 4. deploy stack $stack"
aws cloudformation deploy \
  --stack-name "$stack" \
  --template-file build/cloudformation/packaged.yaml \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset \
  --parameter-overrides \
    "GitHubRepository=${GITHUB_REPOSITORY:-}" \
    "GitHubAccessToken=${GITHUB_TOKEN:-}" \
    "GitHubBranch=${GITHUB_BRANCH:-main}" \
    "FrontendOrigin=${FRONTEND_ORIGIN:-}"

echo "== 5. outputs"
echo "WebSocket URL:  $(output WebSocketURL)"
echo "Callback URL:   $(output ConnectionsCallbackURL)"
echo "Attachments:    s3://$(output AttachmentsBucketName)"
if [ -n "${GITHUB_REPOSITORY:-}" ]; then echo "Frontend:       $(output AmplifyURL)"; fi
