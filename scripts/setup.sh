#!/usr/bin/env bash
# Sets the project up on a fresh machine: .venv from the hashed locks, the policy pack's venv,
# and a pulumi CLI of the pinned version or newer (the one on PATH, or one built offline
# from the Go module proxy once per machine: scripts/install-pulumi.sh). Idempotent: a second
# run only checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The program's venv with the development tools, and the policy pack's own (pulumi-policy needs a
# protobuf the program's cannot share), each from its hashed locks: with uv, or pip where uv
# cannot be had. google-cloud-aiplatform's lock is installed beside the others without its
# declared dependencies: requirements-aiplatform.in says why.
bash scripts/install-venv.sh .venv requirements-dev.txt requirements-aiplatform.txt
bash scripts/install-venv.sh policy/.venv policy/requirements.txt
# The project itself, editable and without dependencies: its console scripts in .venv/bin, among
# them the provider plugin pulumi-resource-vertex-tuning, which the pulumi CLI finds on PATH.
# (A sync of a changed lock removes it, so this runs again then.)
[ -x .venv/bin/pulumi-resource-vertex-tuning ] || bash scripts/install-venv.sh --editable .venv .
# Its bytecode (and the tests'), as pip writes an installed wheel's: where PYTHONDONTWRITEBYTECODE is set, every
# process (a validate, a provider, a stack program) would compile the package again at its start.
# Up-to-date files are skipped; a file edited later is compiled in memory until the next setup.
.venv/bin/python -m compileall -q -j0 tuning_provider stacks tools tests >/dev/null
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
