"""Running cohorts on Ray: one Ray task per cohort (a population of runs of one shape).

Ray is an optional extra (`pip install 'grokking-tickets[ray]'`) and is imported only here.
Every worker writes into the same run store, so the store must live on a path all workers
share (any folder on one machine; a shared file system on a cluster). A task runs the same
code as the local executor with the same number of torch threads, so the numbers are the
same (a test compares summary.csv). A cohort asks for one GPU when the device is CUDA.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import UserError
from .progress import progress as progress_bar


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'grokking-tickets[ray]'") from None
    return ray


def _cohort_task(spec_dicts, start, root, device, init, threads):
    from .runner import train_cohort
    from .spec import RunSpec
    from .store import Store

    torch.set_num_threads(threads)  # as the driver, so reductions split the same way
    train_cohort([RunSpec.from_dict(d) for d in spec_dicts], start, Store(root), device, init)
    return [d["seed"] for d in spec_dicts]


def run_on_ray(jobs, root: Path, device: torch.device, init, address: str | None, progress: bool) -> None:
    if not jobs:
        return
    ray = _ray()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local Ray on this machine
            ray.init(include_dashboard=False, log_to_driver=False)
    threads = torch.get_num_threads()
    cpus = min(threads, int(ray.cluster_resources().get("CPU", 1)))
    task = ray.remote(_cohort_task).options(num_cpus=cpus, num_gpus=1 if device.type == "cuda" else 0)
    pending = [
        task.remote([s.to_dict() for s in members], start, str(Path(root).resolve()), str(device), init, threads)
        for members, start in jobs
    ]
    bar = progress_bar(len(pending), desc="cohorts on Ray", unit="cohort", enabled=progress)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        ray.get(done)  # re-raises a failed task's error here
        bar.update(len(done))
    bar.close()
