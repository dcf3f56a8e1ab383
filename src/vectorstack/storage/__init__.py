"""S3 object storage for the stack (files, streams, arrays, versions, lifecycle) and collection backups."""

from vectorstack.storage.models import DeleteReport, LifecycleRule, ObjectInfo
from vectorstack.storage.objects import ObjectStore

__all__ = ["DeleteReport", "LifecycleRule", "ObjectInfo", "ObjectStore"]
