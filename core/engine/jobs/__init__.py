"""The control plane for one machine: policies, jobs, history, coverage, drills, monitoring.

- :mod:`.policies`: the policy file (parse, validate); :mod:`.policy_model` its model
  (match sources to policies, retention, durations)
- :mod:`.runner`: a job = backup → forget → check → sync → drill; ``--due``; per-job locks
- :mod:`.history`: the job document and due-ness from the records kept in the store
  (:mod:`core.store.jobrecords`)
- :mod:`.notify`: signed webhook, healthchecks pings, Prometheus textfile
- :mod:`.coverage`, :mod:`.drill`, :mod:`.schedule`, :mod:`.residency`, :mod:`.apikeys`
- :mod:`.clock`: the one clock (``SECRET_KLOSET_NOW`` for tests)
"""

from .clock import Clock, FixedClock, SystemClock, clock_from_env
from .policies import PolicyFile, PolicyFileError, load_policies, parse_policies
from .runner import JobEnvironment, Runner, RunReport

__all__ = [
    "Clock",
    "FixedClock",
    "JobEnvironment",
    "PolicyFile",
    "PolicyFileError",
    "RunReport",
    "Runner",
    "SystemClock",
    "clock_from_env",
    "load_policies",
    "parse_policies",
]
