"""Worker processes of `fleet diff`/`build`: started when first needed, then given task after task.

Each process (`fleet/diff_worker.py`) imports the Pulumi SDK and providers once and serves the
tasks of both revisions of a diff, so a run pays one start-up per core, not one per core and revision.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

WORKER = Path(__file__).resolve().parent / "diff_worker.py"


class _Process:
    def __init__(self, stack: ExitStack) -> None:
        # stderr to a file (no pipe to fill), closed with the pool
        self.errors: IO[str] = stack.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.errors, text=True)
        if self.process.stdin is None or self.process.stdout is None:
            raise RuntimeError("diff worker started without pipes")
        self.stdin: IO[str] = self.process.stdin
        self.stdout: IO[str] = self.process.stdout

    def failure(self) -> RuntimeError:
        self.process.wait()
        self.errors.seek(0)
        return RuntimeError(f"diff worker failed: {self.errors.read().strip()[-2000:]}")

    def run(self, task: dict[str, Any], done: Callable[[str], None] | None) -> dict[str, str]:
        """Send one task; {cell: cache entry written} as the worker reports each cell, until its empty line."""
        try:
            self.stdin.write(json.dumps(task) + "\n")
            self.stdin.flush()
        except BrokenPipeError:
            raise self.failure() from None
        written: dict[str, str] = {}
        for line in self.stdout:
            if line == "\n":
                return written
            cell, _, entry = line.rstrip("\n").partition("\t")
            if entry:
                written[cell] = entry
                if done is not None:
                    done(cell)
        raise self.failure()  # the output ended before the task did


class Pool:
    """Up to `size` worker processes for one run."""

    def __init__(self, size: int, stack: ExitStack) -> None:
        self.size = max(1, size)
        self.stack = stack
        self.processes: list[_Process] = []

    def run(self, tasks: Sequence[dict[str, Any]], done: Callable[[str], None] | None = None) -> dict[str, str]:
        """Run at most `size` tasks at once, one per process; {cell: cache entry} of all of them."""
        if len(tasks) > self.size:
            raise ValueError(f"{len(tasks)} tasks for {self.size} workers")
        while len(self.processes) < len(tasks):
            self.processes.append(_Process(self.stack))
        written: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=self.size) as threads:
            for output in threads.map(lambda pair: pair[0].run(pair[1], done), zip(self.processes, tasks, strict=False)):
                written.update(output)
        return written

    def close(self) -> None:
        for worker in self.processes:
            worker.stdin.close()
        for worker in self.processes:
            if worker.process.wait() != 0:
                raise worker.failure()


@contextmanager
def pool(size: int) -> Iterator[Pool]:
    """A pool of up to `size` workers, ended (and every process waited for) on exit."""
    with ExitStack() as stack:
        workers = Pool(size, stack)
        try:
            yield workers
        except BaseException:
            for worker in workers.processes:
                worker.process.kill()
                worker.process.wait()
            raise
        workers.close()
