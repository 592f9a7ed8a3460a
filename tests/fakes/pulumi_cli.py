"""A stand-in for the Pulumi CLI, for driving the Automation API offline.

The real CLI cannot be installed here. This answers the commands the
Automation API sends (``pulumi.automation``: `version`, `stack select/init/
output/history/ls/export`, `up/preview/refresh/destroy` with `--event-log`, `install`,
`plugin install`) the way the CLI of the floor version (3.206, requirements.txt)
does, and records every command line it is given. Where our code depends on it,
it is as strict as that CLI (sources cited at v3.206.0 of pulumi/pulumi):

- flags: each command accepts only the flags its cobra command declares
  (``FLAGS`` below, read from pkg/cmd/pulumi/operations/{up,preview,refresh,
  destroy}.go, stack/stack_{select,init,output,history,ls}.go, stack/stack.go,
  install/install.go, plugin/plugin_install.go and the root's pulumi.go);
  anything else fails as cobra fails (``unknown flag: --x``). `--event-log` is
  declared only when PULUMI_DEBUG_COMMANDS is set (``if env.DebugCommands.Value()``
  in each operation), which the Automation API sets;
- secrets: a stack whose state uses the passphrase provider cannot be loaded
  without the passphrase, not even for `stack output` without `--show-secrets`
  (pkg/backend/secrets/providers.go OfType -> passphrase
  NewPromptingPassphraseSecretsManagerFromState, and DeserializeDeploymentV3
  decrypts every secret of the snapshot, pkg/resource/stack/deployment.go); with
  a wrong passphrase the manager is "locked" and fails on the first secret
  (pkg/secrets/passphrase/manager.go errorCrypter). The error texts are the CLI's;
- `--config-file`: config *and* the salt that decrypts its `secure:` values come
  from that file (cmdStack.ConfigFile), not from Pulumi.<stack>.yaml;
- `destroy --target` deletes the target's children and dependents with or without
  `--target-dependents` (pkg/resource/deploy/step_generator.go
  getTargetDependents: "as well as children"); `up`/`preview`/`refresh --target`
  change only the targets unless `--target-dependents`;
- plugins: `install` / `plugin install` put the program's plugins in
  $PULUMI_HOME/plugins; an operation that finds them missing installs them itself
  and says so in the log (``autoInstalled``), as the real engine does, racily,
  when several start at once (pulumi/pulumi#22784).

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
FAKE_PULUMI_VERSION (default 3.272.0), PULUMI_HOME (plugins; default ~/.pulumi).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
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
# The plugins this program needs (Pulumi.yaml's runtime resolves them from the venv).
PLUGINS = (("resource", "azure-native"), ("resource", "random"))

# Flags per command at pulumi v3.206.0: name -> (shorthand, kind). kind "bool" takes no
# value, "value" takes one, "optional" takes one only as --name=value (NoOptDefVal).
_OPERATION_COMMON = {
    "debug": ("d", "bool"),
    "stack": ("s", "value"),
    "config-file": (None, "value"),
    "message": ("m", "value"),
    "target": ("t", "value"),
    "exclude": ("x", "value"),
    "target-dependents": (None, "bool"),
    "exclude-dependents": (None, "bool"),
    "diff": (None, "bool"),
    "json": ("j", "bool"),
    "parallel": ("p", "value"),
    "show-replacement-steps": (None, "bool"),
    "show-sames": (None, "bool"),
    "suppress-outputs": (None, "bool"),
    "suppress-progress": (None, "bool"),
    "suppress-permalink": (None, "optional"),
    "copilot": (None, "bool"),
    "exec-kind": (None, "value"),
    "exec-agent": (None, "value"),
    "client": (None, "value"),
    "run-program": (None, "bool"),
    "expect-no-changes": (None, "bool"),
}
_UP_PREVIEW = {
    "config": ("c", "value"),
    "config-path": (None, "bool"),
    "replace": (None, "value"),
    "target-replace": (None, "value"),
    "policy-pack": (None, "value"),
    "policy-pack-config": (None, "value"),
    "refresh": ("r", "optional"),
    "show-config": (None, "bool"),
    "show-policy-remediations": (None, "bool"),
    "show-reads": (None, "bool"),
    "show-full-output": (None, "bool"),
    "attach-debugger": (None, "value"),
    "show-secrets": (None, "bool"),
}
FLAGS: dict[tuple[str, ...], dict[str, tuple[str | None, str]]] = {
    # pkg/cmd/pulumi/operations/up.go
    ("up",): {
        **_OPERATION_COMMON,
        **_UP_PREVIEW,
        "exclude": (None, "value"),  # no -x on up (StringArrayVar, not ...P)
        "secrets-provider": (None, "value"),
        "skip-preview": ("f", "bool"),
        "yes": ("y", "bool"),
        "continue-on-error": (None, "bool"),
        "plan": (None, "value"),
    },
    # pkg/cmd/pulumi/operations/preview.go
    ("preview",): {
        **_OPERATION_COMMON,
        **_UP_PREVIEW,
        "save-plan": (None, "value"),
        "import-file": (None, "value"),
    },
    # pkg/cmd/pulumi/operations/refresh.go
    ("refresh",): {
        **_OPERATION_COMMON,
        "preview-only": (None, "bool"),
        "skip-preview": ("f", "bool"),
        "yes": ("y", "bool"),
        "skip-pending-creates": (None, "bool"),
        "clear-pending-creates": (None, "bool"),
        "import-pending-creates": (None, "value"),
    },
    # pkg/cmd/pulumi/operations/destroy.go (no --exclude-dependents, no --expect-no-changes)
    ("destroy",): {
        **{
            k: v
            for k, v in _OPERATION_COMMON.items()
            if k not in ("exclude-dependents", "expect-no-changes")
        },
        "remove": (None, "bool"),
        "exclude-protected": (None, "bool"),
        "preview-only": (None, "bool"),
        "refresh": ("r", "optional"),
        "show-config": (None, "bool"),
        "skip-preview": ("f", "bool"),
        "show-full-output": (None, "bool"),
        "continue-on-error": (None, "bool"),
        "yes": ("y", "bool"),
    },
    # pkg/cmd/pulumi/stack/stack.go declares --stack/-s as a persistent flag of `stack`.
    ("stack", "select"): {
        "stack": ("s", "value"),
        "create": ("c", "bool"),
        "secrets-provider": (None, "value"),
    },
    ("stack", "init"): {
        "stack": ("s", "value"),
        "secrets-provider": (None, "value"),
        "copy-config-from": (None, "value"),
        "no-select": (None, "bool"),
        "teams": (None, "value"),
        "remote-config": (None, "bool"),
    },
    ("stack", "output"): {
        "stack": ("s", "value"),
        "json": ("j", "bool"),
        "shell": (None, "bool"),
        "show-secrets": (None, "bool"),
    },
    ("stack", "history"): {
        "stack": ("s", "value"),
        "show-secrets": (None, "bool"),
        "json": ("j", "bool"),
        "full-dates": (None, "bool"),
        "page-size": (None, "value"),
        "page": (None, "value"),
    },
    ("stack", "ls"): {
        "stack": ("s", "value"),
        "json": ("j", "bool"),
        "all": ("a", "bool"),
        "organization": ("o", "value"),
        "project": ("p", "value"),
        "tag": ("t", "value"),
    },
    # pkg/cmd/pulumi/stack/stack_export.go (constrictor.NoArgs)
    ("stack", "export"): {
        "stack": ("s", "value"),
        "file": (None, "value"),
        "version": (None, "value"),
        "show-secrets": (None, "bool"),
    },
    # pkg/cmd/pulumi/install/install.go (cmdutil.NoArgs)
    ("install",): {
        "reinstall": (None, "bool"),
        "no-plugins": (None, "bool"),
        "no-dependencies": (None, "bool"),
        "use-language-version-tools": (None, "bool"),
    },
    # pkg/cmd/pulumi/plugin/plugin_install.go (cmdutil.MaximumNArgs(3): kind, name, version)
    ("plugin", "install"): {
        "server": (None, "value"),
        "exact": (None, "bool"),
        "file": ("f", "value"),
        "reinstall": (None, "bool"),
        "checksum": (None, "value"),
    },
    ("version",): {},
}
# The root command's persistent flags (pkg/cmd/pulumi/pulumi.go).
GLOBAL_FLAGS: dict[str, tuple[str | None, str]] = {
    "cwd": ("C", "value"),
    "emoji": ("e", "bool"),
    "fully-qualify-stack-names": ("Q", "bool"),
    "disable-integrity-checking": (None, "bool"),
    "logflow": (None, "bool"),
    "logtostderr": (None, "bool"),
    "non-interactive": (None, "bool"),
    "tracing": (None, "value"),
    "profiling": (None, "value"),
    "memprofilerate": (None, "value"),
    "verbose": ("v", "value"),
    "color": (None, "value"),
    "tracing-header": (None, "value"),
}
# Positional arguments each command takes at most (cobra Args).
MAX_ARGS = {
    ("up",): 1,
    ("preview",): 1,
    ("refresh",): 1,
    ("destroy",): 1,
    ("stack", "select"): 1,
    ("stack", "init"): 1,
    ("stack", "output"): 1,
    ("stack", "history"): 0,
    ("stack", "ls"): 0,
    ("stack", "export"): 0,
    ("install",): 0,
    ("plugin", "install"): 3,
    ("version",): 0,
}
OPERATIONS_WITH_EVENT_LOG = {("up",), ("preview",), ("refresh",), ("destroy",)}

# The passphrase provider's texts (pkg/secrets/passphrase/manager.go readPassphrase and
# errorCrypter; pkg/backend/secrets/providers.go OfType wraps the first).
PASSPHRASE_MISSING = (
    "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
    "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
)
STATE_PASSPHRASE_MISSING = (
    'error: constructing secrets manager of type "passphrase": constructing secrets manager: '
    + PASSPHRASE_MISSING
)
WRONG_PASSPHRASE = (
    "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the "
    "correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase"
)


def parse_command(argv: list[str], environ: dict[str, str] | None = None):
    """(command path, flags, positionals) as cobra parses them, or CliError for what it refuses."""
    env = os.environ if environ is None else environ
    words = [a for a in argv]
    path: tuple[str, ...] = ()
    for size in (2, 1):
        head = tuple(w for w in words if not w.startswith("-"))[:size]
        if head in FLAGS:
            path = head
            break
    if not path:
        raise CliError(
            f"error: unknown command {' '.join(argv)} (the stand-in answers what the "
            "Automation API sends)"
        )
    allowed = {**GLOBAL_FLAGS, **FLAGS[path]}
    if path in OPERATIONS_WITH_EVENT_LOG and env.get("PULUMI_DEBUG_COMMANDS", "").lower() in (
        "1",
        "true",
    ):
        allowed["event-log"] = (None, "value")
    shorthands = {short: name for name, (short, _) in allowed.items() if short}
    flags: dict[str, list[str]] = {}
    positionals: list[str] = []
    consumed = list(path)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            positionals += words[i:]
            break
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            if name not in allowed:
                raise CliError(f"error: unknown flag: --{name}")
            kind = allowed[name][1]
        elif word.startswith("-") and len(word) > 1:
            short, value = word[1], word[2:].removeprefix("=")
            eq = "=" if value else ""
            if short not in shorthands:
                raise CliError(f"error: unknown shorthand flag: '{short}' in {word}")
            name = shorthands[short]
            kind = allowed[name][1]
        else:
            if consumed and word == consumed[0]:
                consumed.pop(0)
            else:
                positionals.append(word)
            continue
        if kind == "value" and not eq:
            if i >= len(words):
                raise CliError(f"error: flag needs an argument: --{name}")
            value = words[i]
            i += 1
        elif kind in ("bool", "optional") and not eq:
            value = "true"
        flags.setdefault(name, []).append(value)
    if len(positionals) > MAX_ARGS[path]:
        raise CliError(
            f"error: too many arguments: accepts at most {MAX_ARGS[path]} arg(s), "
            f"received {len(positionals)}"
        )
    return path, flags, positionals


def passphrase() -> str | None:
    """PULUMI_CONFIG_PASSPHRASE, else the content of PULUMI_CONFIG_PASSPHRASE_FILE (trimmed)."""
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if file:
        return Path(file).read_text().strip()
    return None


def _check(salt_part: str, phrase: str) -> str:
    return hashlib.sha256(f"{salt_part}|{phrase}".encode()).hexdigest()[:16]


def fake_salt(phrase: str, seed: str = "class") -> str:
    """A salt as the passphrase provider writes it: v1:<salt>:v1:<'pulumi' encrypted>; here the
    last part is a check of the passphrase, so a wrong passphrase is told from the right one."""
    part = base64.b64encode(seed.encode()).decode()
    return f"v1:{part}:v1:{_check(part, phrase)}"


def passphrase_opens(salt: str | None) -> bool | None:
    """True when the passphrase set opens ``salt``, False when it is wrong, None when unset."""
    phrase = passphrase()
    if phrase is None:
        return None
    parts = (salt or "").split(":")
    if len(parts) == 4 and parts[3] != "fake":
        return parts[3] == _check(parts[1], phrase)
    return True  # a salt written by a test as "...:v1:fake" carries no check


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
    opens = passphrase_opens(salt)
    if opens is None:
        raise CliError(f"error: {PASSPHRASE_MISSING}")
    if not opens:
        raise CliError("error: incorrect passphrase")
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
    return fake_salt(passphrase() or "", f"salt-{stack}-{time.time_ns()}")


class Cli:
    def __init__(self, argv: list[str]):
        self.argv = argv
        self.cwd = Path.cwd()
        self.path, self.parsed, self.positionals = parse_command(argv)
        self.args = [a for a in argv if a != "--non-interactive"]
        self.auto_installed: list[str] = []
        self.project = (
            (yaml.safe_load((self.cwd / "Pulumi.yaml").read_text()) or {}).get("name", "project")
            if (self.cwd / "Pulumi.yaml").is_file()
            else "project"
        )

    # -- arguments -----------------------------------------------------------
    def flag(self, name: str) -> str | None:
        values = self.parsed.get(name.lstrip("-"))
        return values[-1] if values else None

    def flags(self, name: str) -> list[str]:
        return list(self.parsed.get(name.lstrip("-"), []))

    def has(self, name: str) -> bool:
        return self.flag(name) not in (None, "false")

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

    def load_state(self, stack: str | None, decrypt: bool = True) -> dict[str, Any]:
        """The stack's snapshot; as the CLI loads it, every secret in it is decrypted."""
        if not stack:
            raise CliError("error: no stack selected; please use `pulumi stack select`")
        path = self.state_path(stack)
        if not path.is_file():
            raise CliError(f"error: no stack named '{stack}' found")
        state = json.loads(path.read_text())
        if decrypt and state.get("secretsProvider") == "passphrase":
            opens = passphrase_opens(state.get("salt"))
            if opens is None:
                raise CliError(STATE_PASSPHRASE_MISSING)
            has_secrets = any(o.get("secret") for o in state.get("outputs", {}).values())
            if not opens and has_secrets:
                raise CliError(WRONG_PASSPHRASE)
        return state

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
        path = self.path
        if path == ("version",):
            print("v" + os.environ.get("FAKE_PULUMI_VERSION", "3.272.0"))
            return 0
        if path[0] == "stack":
            return self.stack_command(path[1])
        if path in (("install",), ("plugin", "install")):
            return self.install()
        return self.operation(path[0])

    # -- plugins -------------------------------------------------------------
    def plugin_dir(self) -> Path:
        home = os.environ.get("PULUMI_HOME") or str(Path.home() / ".pulumi")
        return Path(home) / "plugins"

    def install(self) -> int:
        if self.path == ("plugin", "install"):
            if not self.positionals:  # without arguments: the project's plugins
                wanted = list(PLUGINS)
            elif len(self.positionals) < 2:
                raise CliError("error: missing plugin name argument")
            else:
                wanted = [(self.positionals[0], self.positionals[1])]
        else:
            wanted = [] if self.has("--no-plugins") else list(PLUGINS)
        for kind, name in wanted:
            (self.plugin_dir() / f"{kind}-{name}").mkdir(parents=True, exist_ok=True)
            print(f"[{kind} plugin {name}] installing")
        return 0

    def ensure_plugins(self) -> None:
        """An operation installs what is missing itself (the race of pulumi/pulumi#22784)."""
        for kind, name in PLUGINS:
            folder = self.plugin_dir() / f"{kind}-{name}"
            if not folder.is_dir():
                self.auto_installed.append(name)
                folder.mkdir(parents=True, exist_ok=True)

    def stack_command(self, sub: str) -> int:
        stack = self.flag("--stack") or (self.positionals[0] if self.positionals else None)
        if sub == "select":
            # Selecting reads no snapshot: the passphrase is not needed yet.
            self.load_state(stack, decrypt=False)
            return 0
        if sub == "init":
            name = stack
            if not name:
                raise CliError("error: missing stack name")
            if self.state_path(name).is_file():
                raise CliError(f"error: stack '{name}' already exists")
            provider = self.flag("--secrets-provider") or "passphrase"
            settings = self.cwd / f"Pulumi.{name}.yaml"
            document = (yaml.safe_load(settings.read_text()) if settings.is_file() else {}) or {}
            if provider == "passphrase" and not document.get("encryptionsalt"):
                if passphrase() is None:
                    raise CliError(f"error: {PASSPHRASE_MISSING}")
                document["encryptionsalt"] = new_salt(name)
                # The CLI saves the new salt into the stack's settings file.
                with settings.open("a") as handle:
                    handle.write(f"encryptionsalt: {document['encryptionsalt']}\n")
            elif provider == "passphrase" and not passphrase_opens(document["encryptionsalt"]):
                # The salt of the file is checked against the passphrase (manager.go).
                raise CliError(
                    f"error: {PASSPHRASE_MISSING}"
                    if passphrase() is None
                    else "error: incorrect passphrase"
                )
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
        if sub == "output":
            # As the CLI prints them: plain values, secrets masked unless shown; one property
            # when named (stack_output.go), an error naming it when the stack lacks it.
            shown = self.has("--show-secrets")
            outputs = {
                name: output["value"] if shown or not output.get("secret") else "[secret]"
                for name, output in self.load_state(stack).get("outputs", {}).items()
            }
            if self.positionals:
                name = self.positionals[0]
                if name not in outputs:
                    raise CliError(f"error: current stack does not have output property '{name}'")
                print(json.dumps(outputs[name]))
            else:
                print(json.dumps(outputs))
            return 0
        if sub == "history":
            history = list(reversed(self.load_state(stack, decrypt=False).get("history", [])))
            size = self.flag("--page-size")
            print(json.dumps(history[: int(size)] if size else history))
            return 0
        if sub == "export":
            # The checkpoint's deployment as stack_export.go writes it; --show-secrets
            # deserializes it with the secrets provider, so it needs the passphrase.
            state = self.load_state(stack, decrypt=self.has("--show-secrets"))
            resources = [
                {"urn": urn, "type": urn.split("::")[-2].rsplit("$", 1)[-1]}
                for urn in state.get("resources", [])
            ]
            print(
                json.dumps(
                    {
                        "version": 3,
                        "deployment": {
                            "manifest": {"time": "", "magic": "", "version": ""},
                            "resources": resources,
                        },
                    },
                    indent=4,
                )
            )
            return 0
        if sub == "ls":
            stacks = (
                sorted(p.stem for p in self.state_dir().glob("*.json"))
                if self.state_dir().is_dir()
                else []
            )
            print(json.dumps([{"name": s, "current": False} for s in stacks]))
            return 0
        raise CliError(f"error: unknown stack command {sub}")

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
        stack = self.flag("--stack") or (self.positionals[0] if self.positionals else None)
        state = self.load_state(stack)
        self.ensure_plugins()
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
        # destroy --target takes the targets' children and dependents along, always
        # (step_generator.go getTargetDependents); the others only with --target-dependents.
        dependents = self.has("--target-dependents") or command == "destroy"

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
        planning = command == "preview" or self.has("--preview-only")
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
            if students:  # the program's SQL password output, a secret (__main__.py)
                state["outputs"]["sqlAdminPassword"] = {"value": "fake-password", "secret": True}
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
    cli = None
    try:
        cli = Cli(argv)
        code = cli.run()
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
            "autoInstalled": cli.auto_installed if cli else [],
        }
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
