// A Go program that declares TuningJobs through the generated SDK (sdk/go), as a user writes
// one: tests/languages builds it with `go build`. It runs with an ordinary pulumi install (its Go
// language host) and the plugin on PATH: docs/package.md.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"pulumi-vertex-tuning/sdk/go/vertextuning"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		conf := config.New(ctx, "")
		reviews, err := vertextuning.NewTuningJob(ctx, "reviews", &vertextuning.TuningJobArgs{
			Project:            pulumi.String(conf.Require("project")),
			BaseModel:          pulumi.String("gemini-3.5-flash"),
			TrainingDatasetUri: pulumi.String("gs://my-bucket/train.jsonl"),
			EpochCount:         pulumi.Int(3),
			AdapterSize:        pulumi.Int(4),
			Labels:             pulumi.StringMap{"team": pulumi.String("search")},
			ServeCheckpoint:    vertextuning.ServeCheckpointBestEvalLoss,
			WaitTimeoutSeconds: pulumi.Float64(3600),
		})
		if err != nil {
			return err
		}
		// Continuous tuning: the tuned model (an Output) is the next job's base model (an Input).
		more, err := vertextuning.NewTuningJob(ctx, "reviews-more", &vertextuning.TuningJobArgs{
			BaseModel:          reviews.TunedModelName,
			TrainingDatasetUri: pulumi.String("gs://my-bucket/more.jsonl"),
			AdapterSize:        pulumi.String("ADAPTER_SIZE_FOUR"),
		})
		if err != nil {
			return err
		}
		ctx.Export("tunedModelEndpoint", reviews.TunedModelEndpoint)
		ctx.Export("evalLoss", reviews.Metrics.EvalLoss())
		ctx.Export("moreEndpoint", more.TunedModelEndpoint)
		return nil
	})
}
