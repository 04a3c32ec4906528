"""Replications: independent runs of one plan with derived seeds, on every core.

Replication ``i`` of a run with seed ``s`` uses seed ``s * 1000 + i``, so adding replications
keeps the earlier ones unchanged. Replications are spread over worker processes started with
``fork``: a worker inherits the compiled plan (the IVR flows hold read-only mappings that cannot
be pickled) and sends back only its plain-data results.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection

from sim.errors import SimError
from sim.model import Simulation
from sim.plan import Plan
from sim.results import Replication


def replication_seeds(seed: int, replications: int) -> list[int]:
    return [seed * 1000 + i for i in range(replications)]


def run_replications(plan: Plan, seed: int, replications: int, *, processes: int | None = None,
                     progress: Callable[[float], None] | None = None) -> list[Replication]:
    """Run ``replications`` of ``plan``; ``processes`` defaults to the usable cores.

    ``progress`` (fraction done) is reported from the first replication when it runs in this
    process, which is the case with one process.
    """
    seeds = replication_seeds(seed, replications)
    workers = min(len(seeds), processes or len(os.sched_getaffinity(0)))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results = []
        for i, s in enumerate(seeds):
            share = _share(progress, i, len(seeds))
            results.append(Simulation(plan, s, progress=share).run())
        return results
    context = multiprocessing.get_context("fork")
    chunks = [seeds[i::workers] for i in range(workers)]
    jobs = []
    for chunk in chunks:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_work, args=(plan, chunk, send), daemon=True)
        process.start()
        send.close()
        jobs.append((process, receive))
    by_seed: dict[int, Replication] = {}
    failures: list[str] = []
    for done, (process, receive) in enumerate(jobs, start=1):
        try:
            status, payload = receive.recv()
        except EOFError:
            status, payload = "error", f"worker {process.pid} died without a result"
        process.join()
        if status == "ok":
            for rep in payload:
                by_seed[rep.seed] = rep
        else:
            failures.append(payload)
        if progress is not None:
            progress(done / len(jobs))
    if failures:
        raise SimError(f"a replication failed: {failures[0]}")
    return [by_seed[s] for s in seeds]


def _work(plan: Plan, seeds: list[int], send: Connection) -> None:
    try:
        send.send(("ok", [Simulation(plan, s).run() for s in seeds]))
    except Exception as exc:  # reported to the parent, which raises it as a SimError
        last = traceback.format_exception(exc)[-1].strip()
        send.send(("error", f"seed {seeds}: {last}"))
    finally:
        send.close()


def _share(progress: Callable[[float], None] | None, index: int,
           count: int) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda fraction: progress((index + fraction) / count)
