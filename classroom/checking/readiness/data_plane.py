"""The checks that read the services' data planes: the lab's files in the data lake (Azure Storage)
and what Synapse Studio shows the student (the linked service, notebooks and SQL scripts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import _Skip, _StudentBase
from .model import DATA_DIRECTORY, DATA_FILES, DATA_FILESYSTEM, LINKED_SERVICE, repair_command


class _DataPlane(_StudentBase):
    """The groups that read the data lake and Synapse Studio."""

    def check_data_lake(self) -> None:
        from azure.storage.filedatalake import DataLakeServiceClient

        env = self.env
        self.provisioned("data", f"data lake '{env.data_lake}'", env.data_lake_id)
        url = self.endpoints.dfs.format(account=env.data_lake)
        kwargs = self.settings.client_kwargs()
        with DataLakeServiceClient(url, credential=self.credential, **kwargs) as service:
            filesystem = service.get_file_system_client(DATA_FILESYSTEM)
            paths = self.call(
                "data",
                f"data lake '{env.data_lake}'",
                "Azure Storage",
                lambda: list(filesystem.get_paths(path=DATA_DIRECTORY, recursive=False)),
                missing=f"no `{DATA_FILESYSTEM}/{DATA_DIRECTORY}/` folder in data lake '{env.data_lake}': "
                f"{repair_command(env)}",
            )
        self.priced["lake"] = True
        sizes = {
            p.name.rsplit("/", 1)[-1]: int(p.content_length or 0)
            for p in paths
            if not p.is_directory
        }
        for name in DATA_FILES:
            if name not in sizes:
                self.problem(
                    "data",
                    f"`{DATA_FILESYSTEM}/{DATA_DIRECTORY}/{name}` is missing from data lake "
                    f"'{env.data_lake}': {repair_command(env)}",
                )
            elif sizes[name] == 0:
                self.problem(
                    "data",
                    f"`{DATA_FILESYSTEM}/{DATA_DIRECTORY}/{name}` in data lake '{env.data_lake}' "
                    f"is empty: {repair_command(env)}",
                )

    def check_studio(self) -> None:
        from ..readonly import ArtifactsClient

        env = self.env
        if not self.workspace_ready:
            return  # the workspace's own problem is reported already
        endpoint = self.endpoints.synapse.format(workspace=env.synapse_workspace)
        where = f"Synapse workspace '{env.synapse_workspace}'"

        def get(words: str, fn: Callable[[], Any], fix: str = repair_command(env)) -> Any:
            # A missing artifact is that artifact's problem; a refusal, timeout or server error would
            # only repeat for the next ones, so it ends the Studio check (and the Synapse RBAC one).
            return self.call(
                "Synapse Studio",
                f"{words} in {where}",
                "Synapse",
                fn,
                missing=f"{words} is missing from {where}: {fix}",
                stop_if_missing=False,
            )

        with ArtifactsClient(self.credential, endpoint, **self.settings.client_kwargs()) as client:
            try:
                linked = get(
                    f"linked service '{LINKED_SERVICE}'",
                    lambda: client.linked_service.get_linked_service(LINKED_SERVICE),
                )
                if linked is not None:
                    self._linked_service(linked.properties, where)
                for name in self.notebooks:
                    notebook = get(
                        f"notebook '{name}'",
                        lambda name=name: client.notebook.get_notebook(name),
                        repair_command(env),
                    )
                    pool = (
                        getattr(notebook.properties.big_data_pool, "reference_name", None)
                        if notebook
                        else None
                    )
                    if notebook is not None and pool != env.spark_pool:
                        self.problem(
                            "Synapse Studio",
                            f"notebook '{name}' is attached to "
                            f"{repr(pool) if pool else 'no Spark pool'}, not '{env.spark_pool}': "
                            f"{repair_command(env)}",
                        )
                for name in self.sql_scripts if env.sql_pool else ():
                    get(
                        f"SQL script '{name}'",
                        lambda name=name: client.sql_script.get_sql_script(name),
                    )
            except _Skip:
                self.studio_unreachable = True

    def check_cost_guard(self) -> None:
        """The SQL pool's pause schedule as deployed (the cost guard's own module)."""
        from .. import guard

        guard.check(self)

    def _linked_service(self, props: Any, where: str) -> None:
        target = getattr(props, "ml_workspace_name", None)
        if getattr(props, "type", "") != "AzureMLService":
            self.problem(
                "Synapse Studio",
                f"linked service '{LINKED_SERVICE}' in {where} is of type "
                f"{getattr(props, 'type', '?')}, not Azure Machine Learning: "
                f"{repair_command(self.env)}",
            )
        elif target and str(target) != self.env.aml_workspace:
            self.problem(
                "Synapse Studio",
                f"linked service '{LINKED_SERVICE}' points at Azure ML workspace "
                f"'{target}', not '{self.env.aml_workspace}': {repair_command(self.env)}",
            )
