"""Machine output, the same for every command: `--json` prints it on stdout, `--json-file PATH`
writes it to a file (both may be given). People's output goes to stderr meanwhile, so stdout
holds nothing but the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")]
JsonFile = Annotated[
    Path | None, typer.Option("--json-file", dir_okay=False, help="write the result as JSON here")
]


def emit_json(data: Any, *, to_stdout: bool, path: Path | None) -> None:
    text = json.dumps(data, indent=2, default=str)
    if to_stdout:
        typer.echo(text)
    if path is not None:
        path.write_text(text + "\n")
