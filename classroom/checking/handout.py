"""The students' handout: each student's links and first steps, printable, with no secret in it.

    python -m classroom handout --stack dev --html handout.html   # one printed page per student
    python -m classroom handout --stack dev --text handouts/      # one .txt per student
    python -m classroom status --stack dev --handout handout.html # the same, after the check

It is made from the stack's `environments` output only (names and links): no
password, key or token is read into it. Students sign in with their own Entra ID
account, which `lab:students[].objectId` gave access to their environment only.
Those outputs may come from a file (a CI artifact): every value is escaped, links
are made only of https URLs on the lab's hosts, the page carries a
Content-Security-Policy (no script at all), and a student id names a file only when
it passes the config's id rule.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab import steps as lab_steps
from lab.config import is_valid_student_id

from .checks import ML_COMPUTE, Environment, lab_notebooks, lab_sql_scripts
from .environments import add_stack_arguments, environments_or_error
from .page import code_html, document_head, link_html

NOTEBOOK_STEPS = {
    "01-prepare-data": "loads the bike rentals from your data lake into the table `bike_data` and profiles them",
    "02-train-automl": "trains a model with automated ML on the compute cluster `{compute}` of your Azure ML "
    "workspace (about 20 minutes; it prints a link to follow the job in Azure ML studio)",
    "03-predict": "predicts the rentals for the 10-day weather forecast with the model you trained",
}

PUBLISH_STEP = (
    "Publish all (top bar) saves your work: a change to a notebook or SQL script is kept only "
    "once published; unpublished changes stay in this browser only."
)


def steps(env: Environment, notebooks: Sequence[str], sql_scripts: Sequence[str]) -> list[str]:
    """The first steps, in order, for one student (plain text)."""
    result = [
        "Open Synapse Studio (link above) and sign in with your own account.",
        f"In Develop > Notebooks, run the lab's notebooks in order, each with Run all. They are attached to "
        f"your Spark pool {env.spark_pool}; the first run starts the pool, which takes a few minutes.",
    ]
    for name in notebooks:
        what = NOTEBOOK_STEPS.get(name, "the next step of the lab").format(compute=ML_COMPUTE)
        if name == notebooks[-1] and env.sql_pool and sql_scripts:
            # Part 2 in the pool (README, "Part 2, step by step"): it loads the forecast and the model into it.
            what += (
                f"; first resume your SQL pool {env.sql_pool} (Manage > SQL pools > Resume): this notebook "
                "loads the forecast and your model into it"
            )
        done = [
            s
            for s in lab_steps.steps_of_notebook(name)
            if env.sql_pool or s.id not in lab_steps.SQL_POOL_STEPS
        ]
        result.append(f"{name}: {what}.{_step_words(done)}")
    if env.sql_pool and sql_scripts:
        result.append(
            f"T-SQL part ({_step_number(lab_steps.step('predicted'))}): in Develop > SQL scripts run '{sql_scripts[-1]}' on {env.sql_pool}: the same predictions "
            f"from T-SQL PREDICT. Pause {env.sql_pool} again when you are done: it is billed every hour it runs."
            + (
                f" If you forget, it pauses itself every day at {env.pause_at} (resume it to go on)."
                if env.pause_at
                else ""
            )
        )
    # Studio in live mode saves only on Publish ("Synapse live development: ... publishes it
    # to save", learn.microsoft.com/azure/synapse-analytics/cicd/source-control).
    result.append(PUBLISH_STEP)
    result.append(
        "The Spark pool pauses itself after 15 idle minutes and the compute cluster scales back to "
        "0 nodes: nothing else to stop."
    )
    return result


def _step_number(step: lab_steps.Step) -> str:
    """ "step 6, Predict rentals in the SQL pool": as `classroom progress` and its page number it."""
    return f"step {lab_steps.student_steps().index(step) + 1}, {step.title}"


def _step_words(done: Sequence[lab_steps.Step]) -> str:
    """The lab's steps a notebook completes, as the instructor's progress view names them."""
    if not done:
        return ""
    return " Lab " + "; ".join(_step_number(s) for s in done) + "."


def render_text(env: Environment, notebooks: Sequence[str], sql_scripts: Sequence[str]) -> str:
    lines = [f"Your Azure lab{f' for {env.course}' if env.course else ''}: {env.student}", ""]
    lines += [
        f"Synapse Studio:    {env.synapse_studio_url}",
        f"Azure ML studio:   {env.aml_studio_url}",
        f"Resource group:    {env.portal_url}",
        "",
    ]
    lines += [f"Synapse workspace: {env.synapse_workspace}", f"Spark pool:        {env.spark_pool}"]
    if env.sql_pool:
        lines.append(f"SQL pool:          {env.sql_pool} (dedicated, paused)")
    lines += [
        f"Data lake:         {env.data_lake} (files/data/)",
        f"Azure ML:          {env.aml_workspace}, compute cluster {ML_COMPUTE}",
    ]
    if env.expires_on:
        lines.append(f"Available until:   {env.expires_on}")
    lines += ["", "First steps:"]
    lines += [f"{i}. {step}" for i, step in enumerate(steps(env, notebooks, sql_scripts), 1)]
    return "\n".join(lines) + "\n"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_html(
    envs: Sequence[Environment], notebooks: Sequence[str], sql_scripts: Sequence[str]
) -> str:
    sections = []
    for env in envs:
        names = [("Synapse workspace", env.synapse_workspace), ("Spark pool", env.spark_pool)]
        if env.sql_pool:
            names.append(("Dedicated SQL pool", f"{env.sql_pool} (paused)"))
        names += [
            ("Data lake", f"{env.data_lake} (files/data/)"),
            ("Azure ML workspace", f"{env.aml_workspace}, compute cluster {ML_COMPUTE}"),
        ]
        if env.expires_on:
            names.append(("Available until", env.expires_on))
        items = "".join(
            f"<li>{code_html(step)}</li>" for step in steps(env, notebooks, sql_scripts)
        )
        sections.append(f"""<section class="student" id="student-{_e(env.student)}">
  <h1>Your Azure lab{f" for {_e(env.course)}" if env.course else ""}: <span class="who">{_e(env.student)}</span></h1>
  <p class="links">
    {link_html(env.synapse_studio_url, "Open Synapse Studio", "studio")}
    {link_html(env.aml_studio_url, "Open Azure ML studio", "aml")}
    {link_html(env.portal_url, "Your resource group", "portal")}
  </p>
  <table>{"".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in names)}</table>
  <h2>First steps</h2>
  <ol>{items}</ol>
  <p class="urls">Links in full (for a printed copy): Synapse Studio {_e(env.synapse_studio_url)}</p>
</section>""")
    # No script at all: its CSP allows none.
    return f"""{document_head("Lab handout", None, HANDOUT_CSS)}<body>
{"".join(sections)}
</body></html>
"""


HANDOUT_CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", system-ui, sans-serif; color: #1c1f24; margin: 0; line-height: 1.45; }
.student { max-width: 46rem; margin: 0 auto; padding: 1.5rem; border-bottom: 2px dashed #c5ccd6; }
h1 { font-size: 1.5rem; margin: 0 0 .75rem; } h2 { font-size: 1.15rem; margin: 1.2rem 0 .4rem; }
.links a { display: inline-block; margin: 0 .5rem .5rem 0; padding: .45rem .9rem; border-radius: 8px;
  background: #0b57d0; color: #fff; text-decoration: none; font-weight: 700; }
.links a.portal { background: #fff; color: #0b57d0; border: 1px solid #0b57d0; }
.not-a-link { display: block; color: #535b66; overflow-wrap: anywhere; }
table { border-collapse: collapse; } th { text-align: left; padding: .2rem 1rem .2rem 0; color: #535b66; font-weight: 400; }
td { font-family: "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
li { margin: .3rem 0; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .9em; }
.urls { display: none; font-size: .75rem; word-break: break-all; color: #535b66; }
@media print { .student { page-break-after: always; border: 0; } .urls { display: block; } }
"""


def write_handout(path: Path, envs: Sequence[Environment]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(envs, lab_notebooks(), lab_sql_scripts()), encoding="utf-8")
    return path


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "handout",
        help="each student's links and first steps, printable, no secrets",
        description=__doc__.split("\n\n")[0],
    )
    add_stack_arguments(p)
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write one HTML file, one printed page per student (default: none)",
    )
    p.add_argument(
        "--text",
        type=Path,
        metavar="DIR",
        help="write <student>.txt per student into DIR (default: none)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace, out: Any | None = None, err: Any | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    envs = environments_or_error(args, err)
    if envs is None:
        return 2
    for env in envs:
        if env.not_deployed:
            print(f"no handout for {env.student}: {env.not_deployed}", file=err)
    envs = [env for env in envs if not env.not_deployed]
    notebooks, scripts = lab_notebooks(), lab_sql_scripts()
    if args.html:
        write_handout(args.html, envs)
        print(f"handout for {len(envs)} students: {args.html}", file=err)
    refused = 0
    if args.text:
        args.text.mkdir(parents=True, exist_ok=True)
        written = 0
        for env in envs:
            # The id names the file: only one the config would accept (no '/', '..', quotes, ...).
            if not is_valid_student_id(env.student):
                refused += 1
                print(
                    f"error: student id {env.student!r} is not a valid id (1-20 of a-z, 0-9 and "
                    "'-', as lab:students requires): no text handout written for it",
                    file=err,
                )
                continue
            (args.text / f"{env.student}.txt").write_text(
                render_text(env, notebooks, scripts), encoding="utf-8"
            )
            written += 1
        print(f"{written} handouts in {args.text}/", file=err)
    if not args.html and not args.text:
        print("\n\n".join(render_text(env, notebooks, scripts) for env in envs), file=out)
    return 1 if refused else 0
