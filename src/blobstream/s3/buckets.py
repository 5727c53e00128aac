"""ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning."""

from __future__ import annotations

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.s3 import namespace, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.errors import S3Error, no_such_bucket

OWNER = "<Owner><ID>blobstream</ID><DisplayName>blobstream</DisplayName></Owner>"
MAX_CONFIGURATION = 64 << 10


def list_buckets(call: Call) -> Response:
    call.need(Role.READ)
    inner = "".join(
        "<Bucket>" + xml.elements([("Name", name), ("CreationDate", xml.timestamp(created))])
        + "</Bucket>"
        for name, created in namespace.buckets(call.store)
    )  # fmt: skip
    return xml_response("ListAllMyBucketsResult", f"{OWNER}<Buckets>{inner}</Buckets>")


def _location_constraint(call: Call) -> str | None:
    length = call.request.content_length or 0
    if length == 0:
        return None
    if length > MAX_CONFIGURATION:
        raise xml.malformed()
    root = xml.parse(call.request.get_data(cache=False))
    if xml.local(root.tag) != "CreateBucketConfiguration":
        raise xml.malformed()
    return xml.text_of(root, "LocationConstraint")


def create(call: Call) -> Response:
    call.need(Role.WRITE)
    if not namespace.valid_bucket_name(call.bucket):
        raise S3Error("InvalidBucketName", "The specified bucket is not valid.", 400)
    constraint = _location_constraint(call)
    if (
        constraint
        and constraint != call.region
        and not (constraint == "US" and call.region == "us-east-1")
    ):
        raise S3Error(
            "InvalidLocationConstraint", "The specified location-constraint is not valid", 400
        )
    if not namespace.create(call.store, call.bucket, call.region):
        raise S3Error(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            409,
        )
    return Response(status=200, headers={"Location": f"/{call.bucket}"})


def head(call: Call) -> Response:
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    return Response(status=200, headers={"x-amz-bucket-region": call.region})


def delete(call: Call) -> Response:
    call.need(Role.WRITE)
    if namespace.holds_blobs(call.store, call.bucket):
        raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409)
    from blobstream.s3 import multipart

    multipart.abort_all(call.store, call.bucket)
    if not namespace.forget(call.store, call.bucket):
        raise no_such_bucket(call.bucket)
    return Response(status=204)


def location(call: Call) -> Response:
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    region = "" if call.region == "us-east-1" else call.region
    return xml_response("LocationConstraint", xml.esc(region))


def versioning(call: Call) -> Response:
    """An unversioned bucket: the configuration is empty (GetBucketVersioning)."""
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    return xml_response("VersioningConfiguration", "")
