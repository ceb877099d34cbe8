#!/usr/bin/env bash
# Sets the project up on a fresh machine: .venv from the pinned requirements, the policy pack's
# venv, and a pulumi CLI of the pinned version or newer (the one on PATH, or one built offline
# from the Go module proxy once per machine: scripts/install-pulumi.sh). Idempotent: a second
# run only checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

stamp=.venv/.requirements-stamp
wanted="$(cat requirements.txt requirements-dev.txt requirements-aiplatform.txt constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements-dev.txt -c constraints.txt
  # Without its declared dependencies: see requirements-aiplatform.txt for why.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements-aiplatform.txt
  echo "$wanted" > "$stamp"
fi
# The project itself, editable and without dependencies: its console scripts in .venv/bin, among
# them the provider plugin pulumi-resource-vertex-tuning, which the pulumi CLI finds on PATH.
[ -x .venv/bin/pulumi-resource-vertex-tuning ] || .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
# The policy pack's own virtualenv: pulumi-policy needs a protobuf the program's cannot share.
policy_stamp=policy/.venv/.requirements-stamp
policy_wanted="$(sha256sum policy/requirements.txt | cut -d' ' -f1)"
if [ ! -x policy/.venv/bin/python ] || [ "$(cat "$policy_stamp" 2>/dev/null)" != "$policy_wanted" ]; then
  echo "setup: installing the policy pack's dependencies into policy/.venv" >&2
  [ -x policy/.venv/bin/python ] || "$python" -m venv policy/.venv
  policy/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt
  echo "$policy_wanted" > "$policy_stamp"
fi
bin="$(bash scripts/install-pulumi.sh)"
mkdir -p .state/pulumi-backend

# `pulumi` in the virtualenv: the CLI with this project's offline defaults, so that after
# `. .venv/bin/activate` plain `pulumi up --stack local` needs nothing else. Each default
# gives way to a value already set (a cloud stack's PULUMI_BACKEND_URL, say) or to a
# `pulumi login`.
cat > .venv/bin/pulumi <<SH
#!/bin/sh
# Written by scripts/setup.sh: the pulumi CLI with the project's offline defaults.
: "\${PULUMI_SKIP_UPDATE_CHECK:=true}"
: "\${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:=true}"
if [ -z "\${PULUMI_BACKEND_URL:-}" ] && ! grep -qs '"current": *"[^"]' "\${PULUMI_HOME:-\$HOME/.pulumi}/credentials.json"; then
  PULUMI_BACKEND_URL="file://$root/.state/pulumi-backend"; export PULUMI_BACKEND_URL
fi
# The local stack's secrets use an empty passphrase; other stacks set theirs (or use Cloud KMS).
if [ -z "\${PULUMI_CONFIG_PASSPHRASE+set}\${PULUMI_CONFIG_PASSPHRASE_FILE+set}" ]; then
  PULUMI_CONFIG_PASSPHRASE=; export PULUMI_CONFIG_PASSPHRASE
fi
export PULUMI_SKIP_UPDATE_CHECK PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
# The Python language host built here (v3.79.0) would run the stack program for a policy pack
# folder: for a folder with an \`analyzer\` executable (policy/analyzer), hand the CLI that file,
# which it runs directly (docs/policy.md).
prev=
for arg do
  shift
  case "\$prev" in --policy-pack) [ -x "\$arg/analyzer" ] && arg="\$arg/analyzer" ;; esac
  case "\$arg" in --policy-pack=*) [ -x "\${arg#*=}/analyzer" ] && arg="\$arg/analyzer" ;; esac
  set -- "\$@" "\$arg"
  prev="\$arg"
done
exec "$bin/pulumi" "\$@"
SH
chmod 0755 .venv/bin/pulumi
# The local stack, in the state backend in effect, so that `pulumi up --stack local` just works.
if ! .venv/bin/pulumi stack ls --json 2>/dev/null | grep -q '"name": "local"'; then
  .venv/bin/pulumi stack init local --no-select >/dev/null
fi
echo "setup: ready (.venv, pulumi $(.venv/bin/pulumi version))" >&2
