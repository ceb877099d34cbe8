// A TypeScript program that declares TuningJobs through the generated SDK (sdk/nodejs), as a
// user writes one: tests/languages type-checks it with `tsc` (strict). It runs with an ordinary
// pulumi install (its Node.js language host) and the plugin on PATH: docs/package.md.
import * as pulumi from "@pulumi/pulumi";
import * as vertextuning from "pulumi-vertex-tuning";

const config = new pulumi.Config();
const reviews = new vertextuning.TuningJob("reviews", {
    project: config.require("project"),
    baseModel: "gemini-3.5-flash",
    trainingDatasetUri: "gs://my-bucket/train.jsonl",
    epochCount: 3,
    adapterSize: 4,
    labels: { team: "search" },
    serveCheckpoint: vertextuning.ServeCheckpoint.BestEvalLoss,
    waitTimeoutSeconds: 3600,
});
// Continuous tuning: the tuned model (an Output) is the next job's base model (an Input).
const more = new vertextuning.TuningJob("reviews-more", {
    baseModel: reviews.tunedModelName,
    trainingDatasetUri: "gs://my-bucket/more.jsonl",
    adapterSize: "ADAPTER_SIZE_FOUR",
});
export const tunedModelEndpoint: pulumi.Output<string> = reviews.tunedModelEndpoint;
export const evalLoss: pulumi.Output<number | undefined> = reviews.metrics.apply(m => m?.evalLoss);
export const moreEndpoint: pulumi.Output<string> = more.tunedModelEndpoint;
