"""The Cloud Storage subset, through the real google-cloud-storage client with anonymous
credentials: metadata, whole and ranged (chunked) downloads, listing, uploads, 404s."""

from __future__ import annotations

import warnings

import pytest
from google.auth.credentials import AnonymousCredentials

# google-api-core warns at import when grpcio-status is missing; pytest.ini makes warnings errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ImportWarning)
    from google.api_core import exceptions
    from google.cloud import storage


@pytest.fixture
def bucket(emulator):
    client = storage.Client(
        project="test-project",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator.url},
    )
    return client.bucket("tuning-data")


def test_metadata_and_whole_download(bucket, gcs_dir, write_dataset):
    write_dataset("nested/dir/train.jsonl")
    data = (gcs_dir / "tuning-data" / "nested/dir/train.jsonl").read_bytes()
    blob = bucket.get_blob("nested/dir/train.jsonl")  # the name travels as nested%2Fdir%2F...
    assert blob.size == len(data)
    assert blob.content_type == "application/jsonl"
    assert blob.md5_hash and blob.generation
    assert blob.download_as_bytes() == data  # checksum checked by the client against x-goog-hash


def test_chunked_reads_use_ranges(bucket, gcs_dir, write_dataset):
    write_dataset("train.jsonl")
    data = (gcs_dir / "tuning-data" / "train.jsonl").read_bytes()
    with bucket.blob("train.jsonl").open("rb", chunk_size=100) as reader:
        assert reader.readline() == data.split(b"\n")[0] + b"\n"
        assert reader.read() == data[data.index(b"\n") + 1:]
    assert bucket.blob("train.jsonl").download_as_bytes(start=10, end=19) == data[10:20]


def test_listing_with_prefix_and_paging(bucket, write_dataset):
    for name in ("a/1.jsonl", "a/2.jsonl", "a/3.jsonl", "b/1.jsonl"):
        write_dataset(name)
    names = [b.name for b in bucket.client.list_blobs(bucket, prefix="a/", max_results=None, page_size=2)]
    assert names == ["a/1.jsonl", "a/2.jsonl", "a/3.jsonl"]


def test_upload_then_read_back(bucket):
    bucket.blob("uploads/small.txt").upload_from_string(b"hello emulator")
    assert bucket.blob("uploads/small.txt").download_as_bytes() == b"hello emulator"
    bucket.blob("uploads/small.txt").upload_from_string(b"replaced", content_type="text/plain")
    assert bucket.blob("uploads/small.txt").download_as_bytes() == b"replaced"


def test_missing_objects_and_buckets_are_404(bucket, emulator):
    with pytest.raises(exceptions.NotFound):
        bucket.blob("missing.jsonl").download_as_bytes()
    assert bucket.get_blob("missing.jsonl") is None
    with pytest.raises(exceptions.NotFound):
        bucket.client.get_bucket("no-such-bucket")


def test_range_past_the_end_is_416(vertex_http, emulator, write_dataset):
    import urllib.error
    import urllib.request

    write_dataset("train.jsonl")
    request = urllib.request.Request(
        emulator.url + "/download/storage/v1/b/tuning-data/o/train.jsonl?alt=media",
        headers={"Range": "bytes=999999-"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 416
    assert caught.value.headers["Content-Range"].startswith("bytes */")


def test_object_names_cannot_leave_the_bucket(vertex_http, emulator):
    status, _, body = vertex_http("GET", "/storage/v1/b/tuning-data/o/..%2F..%2Fetc%2Fpasswd", token=None)
    assert status == 400
