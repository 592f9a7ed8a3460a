"""The student's data lake: an ADLS Gen2 account with the lab's data in ``files/data/``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native

from lab.data import LAB_DATA_BASE_URL, LAB_DATA_FILES
from lab.naming import DATA_CONTAINER

DATA_FOLDER = "data"


def lab_data_assets(data_dir: Path | None) -> dict[str, pulumi.Asset]:
    """File name -> asset: the local copy when ``lab:dataDir`` is set, else the pinned public URL."""
    if data_dir is not None:
        return {name: pulumi.FileAsset(str(data_dir / name)) for name in LAB_DATA_FILES}
    return {name: pulumi.RemoteAsset(f"{LAB_DATA_BASE_URL}/{name}") for name in LAB_DATA_FILES}


def hardened_storage_account(
    name: str,
    *,
    account_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: Mapping[str, pulumi.Input[str]],
    hierarchical_namespace: bool,
    opts: pulumi.ResourceOptions,
) -> azure_native.storage.StorageAccount:
    """A StorageV2 / Standard_LRS / Hot account, HTTPS only, TLS 1.2, no public blob access.

    Every storage account of the lab is made here, so the hardening (which the
    policy pack checks) is written once.
    """
    return azure_native.storage.StorageAccount(
        name,
        account_name=account_name,
        resource_group_name=resource_group_name,
        location=location,
        kind="StorageV2",
        sku=azure_native.storage.SkuArgs(name="Standard_LRS"),
        access_tier="Hot",
        is_hns_enabled=hierarchical_namespace,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        tags=tags,
        opts=opts,
    )


@dataclass
class DataLakeArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    account_name: pulumi.Input[str]
    tags: Mapping[str, pulumi.Input[str]]
    data_dir: Path | None = None


class DataLake(pulumi.ComponentResource):
    """ADLS Gen2 account ``datalake<suffix>`` with container ``files`` and the lab's data."""

    def __init__(self, name: str, args: DataLakeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("synapse-ml-lab:storage:DataLake", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.account = hardened_storage_account(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            # Hierarchical namespace is what makes it a data lake (ADLS Gen2):
            # Synapse requires it for the workspace's default storage.
            hierarchical_namespace=True,
            opts=child,
        )
        self.container = azure_native.storage.BlobContainer(
            f"{name}-files",
            container_name=DATA_CONTAINER,
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            public_access="None",
            opts=child,
        )
        self.blobs = [
            azure_native.storage.Blob(
                f"{name}-{file_name.removesuffix('.csv')}",
                blob_name=f"{DATA_FOLDER}/{file_name}",
                container_name=self.container.name,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                type="Block",
                content_type="text/csv",
                source=asset,
                opts=child,
            )
            for file_name, asset in lab_data_assets(args.data_dir).items()
        ]

        self.account_name: pulumi.Output[str] = self.account.name
        self.account_id: pulumi.Output[str] = self.account.id
        self.container_name: pulumi.Output[str] = self.container.name
        self.dfs_url: pulumi.Output[str] = self.account.primary_endpoints.apply(
            lambda e: e.dfs.rstrip("/")
        )
        self.register_outputs(
            {
                "accountName": self.account_name,
                "accountId": self.account_id,
                "dfsUrl": self.dfs_url,
                "containerName": self.container_name,
            }
        )
