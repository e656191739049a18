#!/usr/bin/env bash
# Packages one Chalice stage (STAGE, default dev) for both template-based paths:
#   build/cloudformation/  sam.json (Chalice's SAM template merged with
#                          infra/cloudformation/resources.json) + deployment.zip
#   build/terraform/       chalice.tf.json + infra/terraform/*.tf.json +
#                          chalice_locals.tf.json + deployment.zip
#   build/stage            the stage packaged, checked by the deploy scripts
# Offline: `chalice package` needs a region name but calls no AWS API.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PATH="$PWD/.venv/bin:$PATH"; fi

stage="${STAGE:-dev}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

python -m infra.generate --check
rm -rf build/cloudformation build/terraform build/stage
mkdir -p build
chalice package --stage "$stage" \
  --merge-template infra/cloudformation/resources.json build/cloudformation
python -m infra.generate --cloudformation-stage build/cloudformation
chalice package --stage "$stage" --pkg-format terraform build/terraform
cp infra/terraform/*.tf.json build/terraform/
python -m infra.generate --terraform-stage build/terraform
python -m infra.tfcheck build/terraform
echo "$stage" > build/stage
echo "packaged stage $stage into build/cloudformation and build/terraform"
