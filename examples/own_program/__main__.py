"""A user's own Pulumi program: one Gemini tuning job, its endpoint exported for serving apps.

    python -m venv .venv && .venv/bin/pip install -r requirements.txt
    pulumi stack init local && pulumi preview --stack local

It imports nothing but Pulumi and the installed library; its settings are its own config keys.
The preview reads the gs:// training data (once per object version on this machine): a bad
line fails it, naming the line, and the training-token estimate shows. With your price per 1M
training tokens (price_per_million_training_tokens_usd) it shows dollars too, and
max_training_cost_usd holds.
"""

import pulumi

from tuning_provider import TuningJob, TuningJobArgs

config = pulumi.Config()

job = TuningJob(
    "review-sentiment",
    TuningJobArgs(
        project=config.require("project"),
        location=config.get("region"),  # unset: the library's default region
        base_model="gemini-3.5-flash",
        training_dataset_uri=config.require("trainingDataUri"),
        epoch_count=config.get_int("epochs") or 3,
        adapter_size=4,
        labels={"team": "reviews"},
        poll_interval_seconds=1,
        wait_timeout_seconds=600,
    ),
)

pulumi.export("tunedModelEndpoint", job.tuned_model_endpoint)
pulumi.export("tuningJobState", job.state)
