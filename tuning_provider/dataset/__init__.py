"""A streaming validator of Gemini supervised-tuning datasets (JSONL).

`validate_dataset` reads a local file, a binary file object or a gs:// object in large
chunks (memory stays bounded whatever the file size) and returns a `DatasetReport`: the
counts of lines, examples, characters and estimated tokens, and every bad line by its
1-based number with one sentence saying what is wrong and how to fix it.

The rules, for each non-blank line (an example):
- it is UTF-8 and one JSON object;
- `contents` is a non-empty list of turns, each with `role` "user" or "model" and a
  non-empty `parts` list; a part holds exactly one of a non-empty `text`, a `fileData`
  (`mimeType` and a gs:// `fileUri`; it makes the example multimodal), a `functionCall`
  or a `functionResponse` (function-calling datasets, with `tools`);
- no two consecutive turns have the same role, and the last turn is the model's;
- `systemInstruction` (optional) has non-empty text parts; its role is ignored, as Vertex
  ignores it; `tools` (optional) is a list of objects;
- the example's estimated tokens (characters / CHARS_PER_TOKEN of text, system
  instruction, tools and function parts; media is not counted) stay within the limit per
  example. Token counts are estimates, and the report says so.
Each bad line gets one error, the first problem found in it, and is not counted as an
example (the example limits below count it, since Vertex reads it).
For the whole file (`Limits`, Vertex's from the catalog): its size, and the number of
examples (training: a warning under the recommended count, an error over the maximum or,
for multimodal examples, over theirs; validation: an error over its maximum). Such errors
have line 0. What the report says of a base model is the caller's to add
(`DatasetReport.with_file_notes`; the catalog judges base models): the data's rules do not
depend on it.

Blank lines: a line holding nothing but spaces, tabs or a carriage return is skipped and
not counted as an example (a single warning says how many there were, since whether Vertex
skips them or counts them as dropped examples is unconfirmed); a final newline is not a
blank line. CRLF line ends are fine.

The parts, data flowing one way (each imports only those above it):
- `rules`: the precise checker, the authority on the rules and the writer of every message;
- `fast`: the fast path, msgspec Structs that accept only valid text-only examples, so a
  valid line costs one C call; it refuses everything else to the precise checker;
- `report`: the tally of a scan, the limits, the report and its whole-file checks;
- `scan`: chunked reading, lines without copies, the process pool and the merge;
- `sources`: local files, file objects, gs:// objects, and `validate_dataset`.
"""

from tuning_provider.dataset.report import DatasetKind, DatasetReport, Limits, LineError
from tuning_provider.dataset.scan import Reading
from tuning_provider.dataset.sources import GcsObjectVersion, gcs_object_version, validate_dataset

__all__ = [
    "DatasetKind",
    "DatasetReport",
    "GcsObjectVersion",
    "LineError",
    "Limits",
    "Reading",
    "gcs_object_version",
    "validate_dataset",
]
