"""`python -m tuning_provider.plugin`: the provider plugin, as `pulumi-resource-vertex-tuning` runs it."""

from tuning_provider.plugin.server import main

raise SystemExit(main())
