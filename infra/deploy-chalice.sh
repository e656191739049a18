#!/usr/bin/env bash
# Deploys one stage with `chalice deploy` plus the base stack Chalice does not make:
#   bash infra/deploy-chalice.sh [dev|prod]      (make deploy-chalice STAGE=prod)
# Optional environment: GITHUB_REPOSITORY (https URL), GITHUB_TOKEN, GITHUB_BRANCH
# (default main) for the Amplify-hosted frontend; FRONTEND_ORIGIN (https://host of a
# client hosted elsewhere, for the attachments bucket's CORS rule); BASE_STACK_NAME.
# Needs: aws CLI v2 with credentials, chalice (the repo's .venv), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PATH="$PWD/.venv/bin:$PATH"; fi

stage="${1:-dev}"
stack="${BASE_STACK_NAME:-serverless-chat-$stage-base}"
repository="${GITHUB_REPOSITORY:-}"
token="${GITHUB_TOKEN:-}"
branch="${GITHUB_BRANCH:-main}"
frontend_origin="${FRONTEND_ORIGIN:-}"

output() {  # output KEY: one output of the base stack; stops when it has none
  local value
  value="$(aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)"
  # --output text prints "None" (or nothing) for an output the stack does not have
  if [ -z "$value" ] || [ "$value" = None ]; then
    echo "stack $stack has no output $1: check its events with" \
      "aws cloudformation describe-stack-events --stack-name $stack" >&2
    exit 1
  fi
  echo "$value"
}

deploy_base() {  # deploy_base API_ID: create or update the base stack
  aws cloudformation deploy \
    --stack-name "$stack" \
    --template-file infra/cloudformation/chalice-deploy.json \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides \
      "Stage=$stage" "ApiId=$1" "GitHubRepository=$repository" \
      "GitHubAccessToken=$token" "GitHubBranch=$branch" "FrontendOrigin=$frontend_origin"
}

echo "== 1. who and where"
account="$(aws sts get-caller-identity --query Account --output text)"
region="$(aws configure get region || true)"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$region}}"
test -n "$region" || { echo "no AWS region: set AWS_REGION or run aws configure" >&2; exit 1; }
partition="$(aws sts get-caller-identity --query Arn --output text | cut -d: -f2)"
export AWS_DEFAULT_REGION="$region"

echo "== 2. base stack: table, attachments bucket, API Gateway logging, log groups"
api_id="$(python -m infra.chalice_stage api-id "$stage")"
deploy_base "$api_id"
table="$(output TableName)"
bucket="$(output AttachmentsBucketName)"

echo "== 3. stage environment and least-privilege policy in .chalice/"
python -m infra.chalice_stage configure "$stage" --table "$table" --bucket "$bucket" \
  --partition "$partition" --region "$region" --account "$account" --api-id "$api_id"

echo "== 4. chalice deploy"
chalice deploy --stage "$stage"
api_id="$(python -m infra.chalice_stage api-id "$stage")"
test -n "$api_id" || { echo "no websocket_api_id in .chalice/deployed/$stage.json" >&2; exit 1; }

echo "== 5. policy scoped to this API's @connections (a second deploy only the first time)"
changed="$(python -m infra.chalice_stage configure "$stage" --table "$table" --bucket "$bucket" \
  --partition "$partition" --region "$region" --account "$account" --api-id "$api_id")"
if [ "$changed" = changed ]; then chalice deploy --stage "$stage"; fi

echo "== 6. base stack again: execution log group and Amplify, now that the API id is known"
deploy_base "$api_id"
access_log_arn="$(output StageAccessLogGroupArn)"

echo "== 7. stage throttling, execution logging and access logging"
aws apigatewayv2 update-stage \
  --api-id "$api_id" \
  --stage-name "$stage" \
  --default-route-settings "$(python -m infra.chalice_stage route-settings)" \
  --access-log-settings "$(python -m infra.chalice_stage access-log-settings \
    --destination-arn "$access_log_arn")"

echo "== 8. outputs"
websocket_url="$(output WebSocketURL)"
callback_url="$(output ConnectionsCallbackURL)"
echo "WebSocket URL:  $websocket_url"
echo "Callback URL:   $callback_url"
echo "Attachments:    s3://$bucket"
if [ -n "$repository" ]; then
  frontend_url="$(output AmplifyURL)"
  echo "Frontend:       $frontend_url"
fi
