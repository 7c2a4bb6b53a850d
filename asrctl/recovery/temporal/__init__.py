"""Team mode: recovery runs as Temporal workflows — the local engine's interpreter on a second runtime.

A DR team outgrows one operator's SQLite journal: approvers sit on other machines, the operator's laptop must not be
the single point of failure of a failover in progress, two operators must not start the same plan twice, and drills
should happen on a schedule. Temporal gives event history, signals/updates, durable timers, workflow-id uniqueness
and schedules; this package only adapts the interpreter to it. One component per file:

* :mod:`.workflow` — ``RecoveryRunWorkflow``: one run; drives :class:`asrctl.recovery.engine.Engine` unchanged.
* :mod:`.workflow_runtime` — the :class:`~asrctl.recovery.runtime.Runtime` in a workflow (clock, waits, approvals,
  scripts, cancel).
* :mod:`.activity_backend` — the :class:`~asrctl.recovery.runtime.Backend` whose coroutines execute activities.
* :mod:`.store` — the in-memory :class:`~asrctl.recovery.runtime.RunStore` (the journal's methods and rows).
* :mod:`.activities` — what workers execute: provider calls, scripts, a scheduled drill's preparation and report.
* :mod:`.messages` — what crosses the wire (workflow input, activity targets, provider records and errors).
* :mod:`.starter` — load, validate, pre-flight, the workflow's input (the CLI and scheduled drills).
* :mod:`.client` — the module API of ``--engine temporal``: start and follow, list, show, approve, redrive, cancel.
* :mod:`.worker` — ``asrctl worker``. :mod:`.scheduled` / :mod:`.schedules` — scheduled drills.
* :mod:`.settings` — address, namespace, task queue, TLS, API key. :mod:`.devserver` — a local dev server.

Design decisions
----------------
**One run per plan across the team.** The workflow id is ``asrctl:<stack>:<plan>`` and a start uses Temporal's
"fail if running" id-conflict policy: of two operators starting the same plan, Temporal lets exactly one through
and the other gets the local engine's "already has an active run" refusal (exit 2), naming the run.

**Determinism.** The starter (an operator's CLI, or a worker for a scheduled drill) loads the plan and stack, runs
the same readiness pre-flight as locally (:func:`asrctl.recovery.runner.preflight`: refusals exit 2 before anything
is recorded) and passes the validated plan and stack config as the workflow's input. The workflow never reads a
file; the interpreter already keeps every non-deterministic thing behind the runtime seam.

**The run's clock.** Against Azure it is workflow time. Against the simulator the workflow keeps the simulated clock
itself: it starts at the world's saved time (read by an activity), advances by exactly what the interpreter waits,
paces real time with durable timers of ``seconds / speed`` (short waits owed and paid together), and hands its time
to every simulator activity, so a worker's simulator — with a settable clock — evaluates the world at the workflow's
time. The same plan, stack and seed therefore give the same RTO on both engines (the benchmark checks it), and a
worker's load never changes a run's figures. At the end the world's clock is saved, like a local run's provider does.

**Activities, one retry layer.** Every provider call is an activity with ``maximum_attempts=1``: the interpreter
stays the one retry layer and sees the provider's own exception classes. Side effects are regular activities,
tracked by the server: a worker lost mid-call surfaces as the activity's timeout
(``ASRCTL_TEMPORAL_ACTIVITY_TIMEOUT``, default 60 s), which the interpreter treats as an ambiguous result and
reconciles with ``find_job`` by request id — the same request ids as locally — before sending anything again. A
side effect that reaches a worker after half its timeout is not sent (the workflow may be reconciling already).
Reads are *local* activities: no side effect, so a worker lost mid-read just reads again on replay, and a poll costs
one history event and no server round trip (a 100-machine drill: ~3,800 events, 13× under Temporal's 50,000 limit;
with every read a regular activity it was 5× the events and 6× the wall time). Scripts are activities that heartbeat
(a lost worker is noticed in 15 s) and run once more elsewhere — action scripts are idempotent by contract, as the
local engine re-runs one interrupted between intent and result. Scripts run in the worker's project checkout with
the credential-free environment of :mod:`asrctl.childenv`; workers refuse a run whose stack file differs from theirs.

**Approvals.** A manual action marks the run ``paused`` (every operator's query sees it; the following CLI exits 3
with the resume command) and waits — ``workflow.wait_condition`` with the action's remaining timeout, a durable
timer — for the ``approve`` update carrying approver and comment, sent by ``asrctl runs resume RUN --approve`` from
any machine with its own ``ASRCTL_HOME``. The update's validator refuses an approval when nothing waits. A worker
restarted meanwhile replays to the same wait; an unanswered approval fails the step at its timeout by itself.

**Cancel** is a Temporal cancellation request. The interpreter runs in a child task, so the request reaches it as a
flag its next check between side effects honours (status ``cancelled``, nothing new sent), waits end at once, and a
side effect already in flight is awaited and recorded, never abandoned half-known.

**The run record** is the store's, so ``runs show --json`` and ``report`` are built by ``RunRecord.from_journal``
exactly as locally: from a query while the run is open, from the workflow's result (no worker needed) once it ended.
Each status change goes to the workflow's memo, so ``runs list`` is one visibility listing and needs no custom search
attribute. A failed run is redriven (``runs resume``) as a new execution of the plan's workflow that starts from the
previous execution's snapshot: only what did not succeed runs again, as locally.

Known limits: the simulator's world is a file under the workers' ``ASRCTL_HOME`` — team mode on the simulator means
workers (and the operator who starts runs) share one machine's home; its test-VM endpoints are listeners of the worker
process that answered, so a script probing them may fail if that worker dies. Each run paces its own ARM budget
(as each local process does); many concurrent runs against one subscription share ARM's throttling as they would
from several operators.
"""
