"""The request messages the emulator reads, declared once for `wire.read`: the fields of
Vertex's protos (google.cloud.aiplatform.v1beta1, a superset of v1) that a client may send.

Fields whose insides the emulator never looks at are `any`: kept as sent. Output-only
fields of a TuningJob are declared too, because Vertex accepts and ignores them on create.
"""

from __future__ import annotations

from tuning_provider.emulator.http.wire import Field, Message

__all__ = [
    "ADAPTER_SIZES",
    "CANCEL_TUNING_JOB_REQUEST",
    "DATASET",
    "GENERATE_CONTENT_REQUEST",
    "JOB_STATES",
    "MERGE_VERSION_ALIASES_REQUEST",
    "RESPONSE_ENUMS",
    "TUNING_JOB",
    "SUPERVISED_HYPER_PARAMETERS",
    "UNDEPLOY_MODEL_REQUEST",
]

_PACKAGE = "google.cloud.aiplatform.v1"

ADAPTER_SIZES = {
    "ADAPTER_SIZE_UNSPECIFIED": 0,
    "ADAPTER_SIZE_ONE": 1,
    "ADAPTER_SIZE_TWO": 6,
    "ADAPTER_SIZE_FOUR": 2,
    "ADAPTER_SIZE_EIGHT": 3,
    "ADAPTER_SIZE_SIXTEEN": 4,
    "ADAPTER_SIZE_THIRTY_TWO": 5,
}
JOB_STATES = {
    name: number
    for number, name in enumerate(
        ["JOB_STATE_UNSPECIFIED", "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING",
         "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED",
         "JOB_STATE_PAUSED", "JOB_STATE_EXPIRED", "JOB_STATE_UPDATING", "JOB_STATE_PARTIALLY_SUCCEEDED"]
    )
}
_TUNING_MODES = {"TUNING_MODE_UNSPECIFIED": 0, "TUNING_MODE_FULL": 1, "TUNING_MODE_PEFT_ADAPTER": 2}
_VALUE_TYPES = {"VALUE_TYPE_UNSPECIFIED": 0, "SCALAR": 1, "TENSOR": 2, "BLOB_SEQUENCE": 3}
_FINISH_REASONS = {
    name: number
    for number, name in enumerate(
        ["FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "OTHER", "BLOCKLIST",
         "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "MODEL_ARMOR"]
    )
}
# The enums the emulator's responses hold, by the field holding them, for clients that ask
# for numbers. (tuningJobState is REST-only: its numbers are in no published proto, so it
# stays a name.)
RESPONSE_ENUMS = {
    "state": JOB_STATES,
    "adapterSize": ADAPTER_SIZES,
    "tuningMode": _TUNING_MODES,
    "valueType": _VALUE_TYPES,
    "finishReason": _FINISH_REASONS,
}

_STRING = Field("string")
_ANY = Field("any")
_ANY_LIST = Field("any", repeated=True)
_MAP = Field("map")
_TIMESTAMP = Field("timestamp")

SUPERVISED_HYPER_PARAMETERS = Message(
    f"{_PACKAGE}.SupervisedHyperParameters",
    {
        "epochCount": Field("int64"),
        "learningRateMultiplier": Field("double"),
        "learningRate": Field("double"),
        "adapterSize": Field(
            "enum", enum=ADAPTER_SIZES, enum_type=f"{_PACKAGE}.SupervisedHyperParameters.AdapterSize"
        ),
        "batchSize": Field("int64"),
    },
)

SUPERVISED_TUNING_SPEC = Message(
    f"{_PACKAGE}.SupervisedTuningSpec",
    {
        "trainingDatasetUri": _STRING,
        "validationDatasetUri": _STRING,
        "hyperParameters": Field("message", message=lambda: SUPERVISED_HYPER_PARAMETERS),
        "exportLastCheckpointOnly": Field("bool"),
        "evaluationConfig": Field("message", message=lambda: EVALUATION_CONFIG),
        "tuningMode": Field("enum", enum=_TUNING_MODES, enum_type=f"{_PACKAGE}.SupervisedTuningSpec.TuningMode"),
    },
)

PRE_TUNED_MODEL = Message(
    f"{_PACKAGE}.PreTunedModel", {"tunedModelName": _STRING, "checkpointId": _STRING, "baseModel": _STRING}
)

ENCRYPTION_SPEC = Message(f"{_PACKAGE}.EncryptionSpec", {"kmsKeyName": _STRING})

TUNING_JOB = Message(
    f"{_PACKAGE}.TuningJob",
    {
        "baseModel": _STRING,
        "preTunedModel": Field("message", message=lambda: PRE_TUNED_MODEL),
        "supervisedTuningSpec": Field("message", message=lambda: SUPERVISED_TUNING_SPEC),
        "distillationSpec": _ANY,
        "partnerModelTuningSpec": _ANY,
        "veoTuningSpec": _ANY,
        "veoLoraTuningSpec": _ANY,
        "preferenceOptimizationSpec": _ANY,
        "reinforcementTuningSpec": _ANY,
        "fullFineTuningSpec": _ANY,
        "name": _STRING,
        "tunedModelDisplayName": _STRING,
        "description": _STRING,
        "customBaseModel": _STRING,
        "state": Field("enum", enum=JOB_STATES, enum_type=f"{_PACKAGE}.JobState"),
        "createTime": _TIMESTAMP,
        "startTime": _TIMESTAMP,
        "endTime": _TIMESTAMP,
        "updateTime": _TIMESTAMP,
        "error": _ANY,
        "labels": _MAP,
        "experiment": _STRING,
        "tunedModel": _ANY,
        "tuningDataStats": _ANY,
        "pipelineJob": _STRING,
        "encryptionSpec": Field("message", message=lambda: ENCRYPTION_SPEC),
        "serviceAccount": _STRING,
        "outputUri": _STRING,
        "evaluateDatasetRuns": _ANY_LIST,
        "tuningJobState": _ANY,
        "tuningJobMetadata": _ANY,
    },
)

PART = Message(
    f"{_PACKAGE}.Part",
    {
        "text": _STRING,
        "inlineData": _ANY,
        "fileData": _ANY,
        "functionCall": _ANY,
        "functionResponse": _ANY,
        "executableCode": _ANY,
        "codeExecutionResult": _ANY,
        "videoMetadata": _ANY,
        "thought": Field("bool"),
        "thoughtSignature": Field("bytes"),
        "mediaResolution": _ANY,
    },
)

CONTENT = Message(
    f"{_PACKAGE}.Content",
    {"role": _STRING, "parts": Field("message", repeated=True, single_ok=True, message=lambda: PART)},
)

GENERATION_CONFIG = Message(
    f"{_PACKAGE}.GenerationConfig",
    {
        "temperature": Field("double"),
        "topP": Field("double"),
        "topK": Field("double"),
        "candidateCount": Field("int32"),
        "maxOutputTokens": Field("int32"),
        "stopSequences": Field("string", repeated=True),
        "responseLogprobs": Field("bool"),
        "logprobs": Field("int32"),
        "presencePenalty": Field("double"),
        "frequencyPenalty": Field("double"),
        "seed": Field("int32"),
        "responseMimeType": _STRING,
        "responseSchema": _ANY,
        "responseJsonSchema": _ANY,
        "routingConfig": _ANY,
        "audioTimestamp": Field("bool"),
        "responseModalities": _ANY_LIST,
        "mediaResolution": _ANY,
        "speechConfig": _ANY,
        "thinkingConfig": _ANY,
        "modelConfig": _ANY,
        "imageConfig": _ANY,
        "enableAffectiveDialog": Field("bool"),
    },
)

GENERATE_CONTENT_REQUEST = Message(
    f"{_PACKAGE}.GenerateContentRequest",
    {
        "model": _STRING,
        "contents": Field("message", repeated=True, single_ok=True, message=lambda: CONTENT),
        "systemInstruction": Field("message", message=lambda: CONTENT),
        "cachedContent": _STRING,
        "tools": _ANY_LIST,
        "toolConfig": _ANY,
        "labels": _MAP,
        "safetySettings": _ANY_LIST,
        "modelArmorConfig": _ANY,
        "generationConfig": Field("message", message=lambda: GENERATION_CONFIG),
    },
)

UNDEPLOY_MODEL_REQUEST = Message(
    f"{_PACKAGE}.UndeployModelRequest",
    {"endpoint": _STRING, "deployedModelId": _STRING, "trafficSplit": _MAP},
)

MERGE_VERSION_ALIASES_REQUEST = Message(
    f"{_PACKAGE}.MergeVersionAliasesRequest", {"name": _STRING, "versionAliases": Field("string", repeated=True)}
)

CANCEL_TUNING_JOB_REQUEST = Message(f"{_PACKAGE}.CancelTuningJobRequest", {"name": _STRING})

GCS_DESTINATION = Message(f"{_PACKAGE}.GcsDestination", {"outputUriPrefix": _STRING})
OUTPUT_CONFIG = Message(
    f"{_PACKAGE}.OutputConfig", {"gcsDestination": Field("message", message=lambda: GCS_DESTINATION)}
)
AUTORATER_CONFIG = Message(
    f"{_PACKAGE}.AutoraterConfig",
    {"samplingCount": Field("int32"), "flipEnabled": Field("bool"), "autoraterModel": _STRING,
     "generationConfig": Field("message", message=lambda: GENERATION_CONFIG)},
)
# Metrics are a union of many specs (bleu_spec, pointwise_metric_spec, ...): kept as sent.
EVALUATION_CONFIG: Message = Message(
    f"{_PACKAGE}.EvaluationConfig",
    {"metrics": _ANY_LIST, "outputConfig": Field("message", message=lambda: OUTPUT_CONFIG),
     "autoraterConfig": Field("message", message=lambda: AUTORATER_CONFIG),
     "inferenceGenerationConfig": Field("message", message=lambda: GENERATION_CONFIG)},
)

# A Dataset as CreateDataset's body holds it. metadata is a google.protobuf.Value (kept as
# sent); savedQueries are not looked into.
DATASET = Message(
    f"{_PACKAGE}.Dataset",
    {
        "name": _STRING,
        "displayName": _STRING,
        "description": _STRING,
        "metadataSchemaUri": _STRING,
        "metadata": _ANY,
        "dataItemCount": Field("int64"),
        "createTime": _TIMESTAMP,
        "updateTime": _TIMESTAMP,
        "etag": _STRING,
        "labels": _MAP,
        "savedQueries": _ANY_LIST,
        "encryptionSpec": Field("message", message=lambda: ENCRYPTION_SPEC),
        "metadataArtifact": _STRING,
        "modelReference": _STRING,
        "satisfiesPzs": Field("bool"),
        "satisfiesPzi": Field("bool"),
    },
)
