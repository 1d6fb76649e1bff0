"""The object store behind the service: S3 (SeaweedFS here) through boto3, over HTTPS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .settings import S3Settings

CHUNK_BYTES = 1 << 16


class ObjectStoreError(Exception):
    """The store refused or could not be reached; one line."""


class ObjectStore(Protocol):
    def put(self, key: str, path: Path) -> None: ...

    def chunks(self, key: str) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...


class S3ObjectStore:
    def __init__(self, settings: S3Settings) -> None:
        self.bucket = settings.bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.endpoint,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key_file.read_text().strip(),
            region_name="us-east-1",
            verify=str(settings.ca_file),
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 3}),
        )

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call(self.client.create_bucket, Bucket=self.bucket)

    def put(self, key: str, path: Path) -> None:
        self._call(self.client.upload_file, str(path), self.bucket, key)

    def chunks(self, key: str) -> Iterator[bytes]:
        body = self._call(self.client.get_object, Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=key)

    @staticmethod
    def _call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise ObjectStoreError(f"the object store: {' '.join(str(error).split())}") from None
