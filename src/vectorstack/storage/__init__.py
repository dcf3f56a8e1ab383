"""S3 object storage for the stack (files, streams, arrays, versions, lifecycle) and collection backups."""

from vectorstack.storage.objects import DeleteReport, LifecycleRule, ObjectInfo, ObjectStore

__all__ = ["DeleteReport", "LifecycleRule", "ObjectInfo", "ObjectStore"]
