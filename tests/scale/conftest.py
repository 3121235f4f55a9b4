"""Fixtures for the scale tests: a 2-worker Dask LocalCluster and an S3 server on 127.0.0.1.

Both are real: ``distributed.LocalCluster`` worker processes, and moto's standalone S3 server
spoken to over HTTP by s3fs/boto exactly as a real bucket would be."""

from __future__ import annotations

import hashlib

import pytest
import yaml

BUCKET = "sdg-factory"  # the bucket conf/cloud/globals.yml names


@pytest.fixture(scope="session")
def dask_cluster():
    """Two worker processes, one thread each. A task may survive one worker death
    (``allowed-failures: 1``) so that a task that keeps killing workers fails fast."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


class S3Server:
    """A moto S3 server on 127.0.0.1 with the credentials a run reads from the environment."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
        self.credentials = {"key": "testing", "secret": "testing",
                            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"}}
        import boto3

        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                                   aws_secret_access_key="testing", region_name="us-east-1")

    def create_bucket(self, name: str = BUCKET) -> None:
        self.client.create_bucket(Bucket=name)

    def keys(self, prefix: str = "", bucket: str = BUCKET) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, key: str, bucket: str = BUCKET) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def delete(self, prefix: str, bucket: str = BUCKET) -> None:
        for key in self.keys(prefix, bucket):
            self.client.delete_object(Bucket=bucket, Key=key)

    def digest(self, prefix: str, replace: tuple[str, str] | None = None) -> dict[str, str]:
        """``key below prefix -> sha256`` of every object (text ``replace[0]`` → ``replace[1]``)."""
        out = {}
        for key in self.keys(prefix):
            data = self.read(key)
            if replace:
                data = data.replace(replace[0].encode(), replace[1].encode())
            out[key[len(prefix):]] = hashlib.sha256(data).hexdigest()
        return out

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """One S3 server for the session (tests keep to their own prefixes), its bucket created, its keys in the environment
    (``conf/cloud/credentials.yml`` reads them; s3fs instances are cached by their options, so
    each server's distinct endpoint gets its own)."""
    server = S3Server()
    server.create_bucket()
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        for name, value in server.env.items():
            patch.setenv(name, value)
        yield server
    server.stop()


def write_executor_env(conf, env: str, executor, base_env: str | None = None) -> str:
    """Write ``conf/<env>/`` overriding the executor of every dataset that has one in
    ``conf/base`` (a soft-merged catalog override), plus the files of ``base_env`` if given.
    Returns the environment's name."""
    folder = conf / env
    folder.mkdir(exist_ok=True)
    if base_env:
        for path in (conf / base_env).glob("*.yml"):
            (folder / path.name).write_text(path.read_text())
    for path in sorted((conf / "base").glob("catalog*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        overrides = {name: {"executor": executor} for name, entry in doc.items()
                     if isinstance(entry, dict) and "executor" in entry}
        if overrides:
            target = folder / path.name
            merged = yaml.safe_load(target.read_text()) if target.exists() else {}
            for name, entry in overrides.items():
                merged.setdefault(name, {}).update(entry)
            target.write_text(yaml.safe_dump(merged, sort_keys=False))
    return env
