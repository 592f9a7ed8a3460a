"""A stand-in for the Pulumi CLI, for driving the Automation API offline.

The real CLI cannot be installed here. This answers the commands the
Automation API sends (``pulumi.automation``: `version`, `stack select/init/
output/history`, `up/preview/refresh/destroy` with `--event-log`) the way the
CLI documents them, and records every command line it is given:

- state per stack in the backend of PULUMI_BACKEND_URL (file://<dir>: under
  <dir>/.pulumi/stacks/<project>/<stack>.json as the DIY backend keeps it;
  another scheme: under FAKE_PULUMI_HOME), with the stack's secrets provider;
- config from `--config-file`, else Pulumi.<stack>.yaml in the working
  directory; `secure:` values decrypt only with the file's own
  `encryptionsalt` and PULUMI_CONFIG_PASSPHRASE set (as the passphrase
  provider works); `stack init` keeps a salt already in Pulumi.<stack>.yaml;
- engine events to `--event-log`: a file of JSON lines, or `tcp://host:port`,
  the gRPC Events service the Automation API starts for CLIs newer than 3.205;
- resources: per student of `lab:students` one LabEnvironment and
  FAKE_PULUMI_CHILDREN (default 4) children, plus the stack and a provider;
  `--target ... --target-dependents` limits the change to that component's tree.

Knobs (environment): FAKE_PULUMI_LOG (JSON lines of what was run, with the
SYNAPSE_ML_LAB_* variables the program would see),
FAKE_PULUMI_FAIL (comma-separated stacks whose up/preview/refresh/destroy
fail halfway), FAKE_PULUMI_STEP_SECONDS (sleep per resource step),
FAKE_PULUMI_VERSION (default 3.272.0).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

COMPONENT = "synapse-ml-lab:lab:LabEnvironment"
CHILD_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:synapse:Workspace",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:synapse:SqlPool",
    "azure-native:keyvault:Vault",
)
DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class CliError(Exception):
    def __init__(self, message: str, code: int = 255):
        super().__init__(message)
        self.code = code


def environment_output(student: str) -> dict[str, str]:
    """A student's entry of the program's `environments` output, in its shape."""
    rg_id = f"/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/dp000-{student}"
    return {
        "subscription": "00000000-0000-0000-0000-0000000000aa",
        "resourceGroup": f"dp000-{student}",
        "synapseWorkspace": f"synapse-{student}",
        "sparkPool": "spark",
        "sqlPool": "sql",
        "synapseStudioUrl": f"https://web.azuresynapse.net?workspace={rg_id}/synapse-{student}",
        "dataLake": f"datalake{student}",
        "amlWorkspace": f"aml-{student}",
        "amlStudioUrl": f"https://ml.azure.com/home?wsid={rg_id}/aml-{student}",
    }


def fake_encrypt(salt: str, plaintext: str) -> str:
    """How this stand-in stores a `secure:` value: tied to the salt that encrypted it."""
    return "fake:" + base64.b64encode(f"{salt}|{plaintext}".encode()).decode()


def fake_decrypt(salt: str | None, ciphertext: str) -> str:
    if not os.environ.get("PULUMI_CONFIG_PASSPHRASE") and not os.environ.get(
        "PULUMI_CONFIG_PASSPHRASE_FILE"
    ):
        raise CliError(
            "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
            "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
        )
    try:
        used, plaintext = base64.b64decode(ciphertext.removeprefix("fake:")).decode().split("|", 1)
    except ValueError as exc:
        raise CliError(f"error: failed to decrypt: {exc}") from exc
    if used != salt:
        raise CliError(
            "error: failed to decrypt encrypted configuration value: cipher: message authentication failed"
        )
    return plaintext


def new_salt(stack: str) -> str:
    return "v1:" + base64.b64encode(f"salt-{stack}-{time.time_ns()}".encode()).decode() + ":v1:fake"


class Cli:
    def __init__(self, argv: list[str]):
        self.argv = argv
        self.cwd = Path.cwd()
        self.args = [a for a in argv if a != "--non-interactive"]
        self.project = (
            (yaml.safe_load((self.cwd / "Pulumi.yaml").read_text()) or {}).get("name", "project")
            if (self.cwd / "Pulumi.yaml").is_file()
            else "project"
        )

    # -- arguments -----------------------------------------------------------
    def flag(self, name: str) -> str | None:
        for i, a in enumerate(self.args):
            if a == name and i + 1 < len(self.args):
                return self.args[i + 1]
            if a.startswith(name + "="):
                return a.split("=", 1)[1]
        return None

    def flags(self, name: str) -> list[str]:
        return [
            self.args[i + 1]
            for i, a in enumerate(self.args)
            if a == name and i + 1 < len(self.args)
        ]

    # -- backend -------------------------------------------------------------
    def state_dir(self) -> Path:
        url = os.environ.get("PULUMI_BACKEND_URL", "")
        if url.startswith("file://"):
            base = Path(url[len("file://") :])
        elif url:
            base = Path(
                os.environ.get("FAKE_PULUMI_HOME", self.cwd / ".fake-pulumi")
            ) / url.replace("://", "/")
        else:
            raise CliError(
                "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
            )
        return base / ".pulumi" / "stacks" / self.project

    def state_path(self, stack: str) -> Path:
        return self.state_dir() / f"{stack}.json"

    def load_state(self, stack: str) -> dict[str, Any]:
        path = self.state_path(stack)
        if not path.is_file():
            raise CliError(f"error: no stack named '{stack}' found")
        return json.loads(path.read_text())

    def save_state(self, stack: str, state: dict[str, Any]) -> None:
        path = self.state_path(stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1))

    # -- config --------------------------------------------------------------
    def settings_path(self, stack: str) -> Path:
        given = self.flag("--config-file")
        return Path(given) if given else self.cwd / f"Pulumi.{stack}.yaml"

    def config(self, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
        path = self.settings_path(stack)
        document = yaml.safe_load(path.read_text()) if path.is_file() else {}
        document = document or {}
        config = {}
        for key, value in (document.get("config") or {}).items():
            if isinstance(value, dict) and set(value) == {"secure"}:
                value = fake_decrypt(document.get("encryptionsalt"), value["secure"])
            config[key] = value
        return document, config

    # -- commands ------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        if args[:1] == ["version"]:
            print("v" + os.environ.get("FAKE_PULUMI_VERSION", "3.272.0"))
            return 0
        if args[:1] == ["stack"]:
            return self.stack_command(args[1:])
        if args[:1] and args[0] in ("up", "preview", "refresh", "destroy"):
            return self.operation(args[0])
        raise CliError(
            f"error: unknown command {' '.join(args)} (the stand-in answers what the Automation API sends)"
        )

    def stack_command(self, args: list[str]) -> int:
        stack = self.flag("--stack") or self.flag("-s")
        if args[:1] == ["select"]:
            self.load_state(stack)
            return 0
        if args[:1] == ["init"]:
            name = stack or args[1]
            if self.state_path(name).is_file():
                raise CliError(f"error: stack '{name}' already exists")
            provider = self.flag("--secrets-provider") or "passphrase"
            settings = self.cwd / f"Pulumi.{name}.yaml"
            document = (yaml.safe_load(settings.read_text()) if settings.is_file() else {}) or {}
            if provider == "passphrase" and not document.get("encryptionsalt"):
                if not os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
                    raise CliError(
                        "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                        "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
                    )
                document["encryptionsalt"] = new_salt(name)
                # The CLI saves the new salt into the stack's settings file.
                with settings.open("a") as handle:
                    handle.write(f"encryptionsalt: {document['encryptionsalt']}\n")
            self.save_state(
                name,
                {
                    "stack": name,
                    "secretsProvider": provider,
                    "salt": document.get("encryptionsalt"),
                    "resources": [],
                    "history": [],
                    "outputs": {},
                },
            )
            return 0
        if args[:1] == [
            "output"
        ]:  # as the CLI prints them: plain values, secrets masked unless shown
            shown = "--show-secrets" in args
            print(
                json.dumps(
                    {
                        name: output["value"] if shown or not output.get("secret") else "[secret]"
                        for name, output in self.load_state(stack).get("outputs", {}).items()
                    }
                )
            )
            return 0
        if args[:1] == ["history"]:
            history = list(reversed(self.load_state(stack).get("history", [])))
            size = self.flag("--page-size")
            print(json.dumps(history[: int(size)] if size else history))
            return 0
        if args[:1] == ["ls"]:
            stacks = (
                sorted(p.stem for p in self.state_dir().glob("*.json"))
                if self.state_dir().is_dir()
                else []
            )
            print(json.dumps([{"name": s, "current": False} for s in stacks]))
            return 0
        raise CliError(f"error: unknown stack command {' '.join(args)}")

    def desired(self, stack: str, config: dict[str, Any]) -> list[tuple[str, str]]:
        """(urn, type) of every resource the program would declare for this config."""
        students = config.get("lab:students")
        if isinstance(students, str):
            students = json.loads(students)
        if not students:
            raise CliError("error: lab:students is not set (the stand-in needs a roster)")
        children = int(os.environ.get("FAKE_PULUMI_CHILDREN", "4"))
        prefix = f"urn:pulumi:{stack}::{self.project}::"
        found = [
            (f"{prefix}pulumi:pulumi:Stack::{self.project}-{stack}", "pulumi:pulumi:Stack"),
            (f"{prefix}pulumi:providers:azure-native::default", "pulumi:providers:azure-native"),
        ]
        for item in students:
            sid = item["id"] if isinstance(item, dict) else item
            found.append((f"{prefix}{COMPONENT}::{sid}", COMPONENT))
            for typ in CHILD_TYPES[:children]:
                found.append(
                    (f"{prefix}{COMPONENT}${typ}::{sid}-{typ.rsplit(':', 1)[1].lower()}", typ)
                )
        return found

    def operation(self, command: str) -> int:
        stack = self.flag("--stack")
        state = self.load_state(stack)
        document, config = self.config(stack)
        if (
            state.get("salt")
            and document.get("encryptionsalt")
            and state["salt"] != document["encryptionsalt"]
            and state.get("resources")
        ):
            raise CliError(
                "error: the stack's secrets were encrypted with another salt than its config's"
            )
        targets = self.flags("--target")
        dependents = "--target-dependents" in self.args

        def targeted(urn: str) -> bool:
            if not targets:
                return True
            return any(urn == t or (dependents and _child_of(urn, t)) for t in targets)

        existing = list(state.get("resources", []))
        if command == "destroy":
            steps = [(urn, "delete") for urn in reversed(existing) if targeted(urn)]
            after = [urn for urn in existing if not targeted(urn)]
        else:
            wanted = self.desired(stack, config)
            wanted_urns = [u for u, _ in wanted]
            if command == "refresh":
                steps = [(urn, "refresh") for urn in existing if targeted(urn)]
                after = existing
            else:
                steps = [
                    (u, "same" if u in existing else "create") for u in wanted_urns if targeted(u)
                ]
                steps += [(u, "delete") for u in existing if u not in wanted_urns and targeted(u)]
                after = [u for u in existing if u in wanted_urns or not targeted(u)]
                after += [u for u, op in steps if op == "create"]
        planning = command == "preview"
        events = EventSink(self.flag("--event-log"))
        start = dt.datetime.now(dt.UTC)
        events.emit({"preludeEvent": {"config": {k: str(v) for k, v in config.items()}}})
        failing = stack in [s for s in os.environ.get("FAKE_PULUMI_FAIL", "").split(",") if s]
        delay = float(os.environ.get("FAKE_PULUMI_STEP_SECONDS", "0"))
        changes: dict[str, int] = {}
        code = 0
        for index, (urn, op) in enumerate(steps):
            meta = {
                "op": op,
                "urn": urn,
                "type": urn.split("::")[-2].rsplit("$", 1)[-1],
                "provider": "",
            }
            events.emit({"resourcePreEvent": {"metadata": meta, "planning": planning}})
            time.sleep(delay)
            if failing and index == len(steps) // 2:
                events.emit(
                    {
                        "diagnosticEvent": {
                            "urn": urn,
                            "message": f"error: {urn.rsplit('::', 1)[1]}: "
                            'Code="QuotaExceeded" (stand-in failure)\n',
                            "color": "never",
                            "severity": "error",
                        }
                    }
                )
                events.emit({"resOpFailedEvent": {"metadata": meta, "status": 1, "steps": 1}})
                code = 255
                break
            events.emit({"resOutputsEvent": {"metadata": meta, "planning": planning}})
            changes[op] = changes.get(op, 0) + 1
        if code:  # what ran before the failure is done, the rest is not
            done = steps[: len(steps) // 2]
            after = [u for u in existing if (u, "delete") not in done]
            after += [u for u, op in done if op == "create"]
        end = dt.datetime.now(dt.UTC)
        events.emit(
            {
                "summaryEvent": {
                    "maybeCorrupt": False,
                    "durationSeconds": int((end - start).total_seconds()),
                    "resourceChanges": changes,
                    "PolicyPacks": {},
                }
            }
        )
        events.emit({"cancelEvent": {}})
        events.close()
        if not planning:
            state["resources"] = after
            state["salt"] = document.get("encryptionsalt") or state.get("salt")
            students = [u.rsplit("::", 1)[1] for u in after if f"::{COMPONENT}::" in u]
            state["outputs"] = {
                "students": {"value": len(students), "secret": False},
                "environments": {
                    "value": {sid: environment_output(sid) for sid in students},
                    "secret": False,
                },
            }
            state.setdefault("history", []).append(
                {
                    "kind": {"up": "update"}.get(command, command),
                    "startTime": start.strftime(DATETIME),
                    "endTime": end.strftime(DATETIME),
                    "message": "",
                    "environment": {},
                    "config": {},
                    "result": "failed" if code else "succeeded",
                    "version": len(state["history"]) + 1,
                    "resourceChanges": changes,
                }
            )
            self.save_state(stack, state)
        if code:
            print(f"error: update failed\n    {stack}: 1 error", file=sys.stderr)
            print("Diagnostics:\n  error: update failed")
        else:
            print(f"{command} of {stack}: {json.dumps(changes)}")
        return code


def _child_of(urn: str, component_urn: str) -> bool:
    """A child's URN carries its parent's type chain and, in this program, the student's name."""
    head, _, name = component_urn.rpartition("::")
    return urn.startswith(head + "$") and urn.rsplit("::", 1)[1].rsplit("-", 1)[0] == name


class EventSink:
    """Engine events to a file of JSON lines, or to the Automation API's gRPC Events server."""

    def __init__(self, target: str | None):
        self.target = target
        self.sequence = 0
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.handle = None
        if target and target.startswith("tcp://"):
            self.thread = threading.Thread(
                target=self._stream, args=(target[len("tcp://") :],), daemon=True
            )
            self.thread.start()
        elif target:
            # Closed in close(): the log stays open while the engine streams events.
            self.handle = open(target, "a", encoding="utf-8")  # noqa: SIM115

    def _stream(self, address: str) -> None:
        import grpc
        from pulumi.runtime.proto import events_pb2, events_pb2_grpc

        def requests():
            while (item := self.queue.get()) is not None:
                yield events_pb2.EventRequest(event=item)

        with grpc.insecure_channel(address) as channel:
            events_pb2_grpc.EventsStub(channel).StreamEvents(requests())

    def emit(self, body: dict[str, Any]) -> None:
        self.sequence += 1
        line = json.dumps({"sequence": self.sequence, "timestamp": int(time.time()), **body})
        if self.thread:
            self.queue.put(line)
        elif self.handle:
            self.handle.write(line + "\n")
            self.handle.flush()

    def close(self) -> None:
        if self.thread:
            self.queue.put(None)
            self.thread.join(10)
        if self.handle:
            self.handle.close()


def main(argv: list[str]) -> int:
    started = time.time()
    code = 0
    try:
        code = Cli(argv).run()
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        code = exc.code
    log = os.environ.get("FAKE_PULUMI_LOG")
    if log:
        record = {
            "argv": argv,
            "cwd": os.getcwd(),
            "backend": os.environ.get("PULUMI_BACKEND_URL"),
            "passphrase": bool(os.environ.get("PULUMI_CONFIG_PASSPHRASE")),
            "automation": os.environ.get("PULUMI_AUTOMATION_API"),
            # What the program and its providers read from the environment (e.g. the
            # notebooks reset of `classroom repair`): plugins inherit the CLI's environment.
            "lab_env": {k: v for k, v in os.environ.items() if k.startswith("SYNAPSE_ML_LAB_")},
            "start": started,
            "end": time.time(),
            "code": code,
            "pid": os.getpid(),
        }
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
