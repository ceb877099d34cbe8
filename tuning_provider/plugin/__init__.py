"""The provider plugin `pulumi-resource-vertex-tuning`: the TuningJob for every Pulumi language.

The second face of the provider (the first is the dynamic provider in provider.py, which Python
programs use). It serves Pulumi's ResourceProvider protocol with a package schema, so that
YAML, TypeScript and Go programs can declare a `vertex-tuning:index:TuningJob` and
`pulumi import` can adopt a job made elsewhere. Every verb runs `tuning_provider.lifecycle`,
the core both faces share; this package only translates.

    server.py       the gRPC server and its verbs; `main` is the executable
    properties.py   camelCase property names <-> the spec's fields, derived from the spec
    structs.py      protobuf Structs <-> plain values (unknowns, secrets)
    config.py       the provider's configuration: apiEndpoint, project, location
    schema.json     the package schema, generated from the spec by tools/plugin_schema.py
"""
