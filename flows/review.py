"""Wait for an editor's decision in the Prefect UI, for as long as the review may take.

Why not `pause_flow_run` as it is: its timeout is also the server's pause
expiry, so a review nobody answers ends with Prefect's words ("The flow was
completed and never resumed") and, when the server's expiry service gets there
first, with no summary at all. Here the server's expiry is set an hour past our
own deadline: at the deadline this process closes the pause itself (later
resumes are refused as "not paused") and the flow ends Failed in its own words.

Why not `suspend_flow_run`: it frees the process, but at a timeout no process is
left to say what was waiting, and on resume the flow re-runs from the top, so
posting exactly the drafts the editor read would need result storage shared by
every worker. See docs/deployment.md ("Approval in the UI").

Nothing here holds a lease across the pause: the deployments have no
`concurrency_limit` (Prefect revokes a paused run's deployment lease, and the
run's own renewal thread then cancels it about 4 minutes later).
"""

from __future__ import annotations

import time

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.context import FlowRunContext
from prefect.input import RunInput
from prefect.input.actions import read_flow_run_input
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Paused, Running

POLL_SECONDS = 5.0
# The server's own pause expiry comes this long after ours, so it never races us.
SERVER_GRACE_SECONDS = 3600


def wait_for_decision(form: type[RunInput], timeout_seconds: float, key: str,
                      message: str = "", poll_seconds: float = POLL_SECONDS) -> RunInput | None:
    """Pause this flow run until it is resumed with the form's input; None when nobody did in time.

    A resume with no input (the UI's form submitted untouched sends nothing) means
    the form's defaults.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("wait_for_decision runs inside a flow run")
    run_id = context.flow_run.id
    paused = Paused(timeout_seconds=int(timeout_seconds + SERVER_GRACE_SECONDS), reschedule=False,
                    pause_key=key, message=message or None)
    keyset = keyset_from_paused_state(paused)
    paused.state_details.run_input_keyset = keyset
    with get_client(sync_client=True) as client:
        result = client.set_flow_run_state(run_id, paused)
        if result.state is None or result.state.type is not StateType.PAUSED:
            raise RuntimeError(f"the run could not pause for review: {result.details}")
        form.save(keyset, flow_run_id=run_id)
        deadline = time.monotonic() + timeout_seconds
        unreachable = 0
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(poll_seconds, left))
            try:
                run = client.read_flow_run(run_id)
            except Exception as exc:  # the server restarting during a days-long review must not end it
                unreachable += 1
                if unreachable == 1:
                    get_run_logger().warning("review: the Prefect server does not answer (%s); still waiting", exc)
                continue
            if unreachable:
                get_run_logger().info("review: the Prefect server answers again; still waiting")
                unreachable = 0
            if run.state is not None and run.state.type is StateType.RUNNING:
                return form(**(read_flow_run_input(keyset["response"], flow_run_id=run_id) or {}))
        # Our deadline: end the pause ourselves, then look once more for a decision
        # that landed in the last moment (the resume stored it before we got here).
        client.set_flow_run_state(run_id, Running())
    answer = read_flow_run_input(keyset["response"], flow_run_id=run_id)
    return None if answer is None else form(**answer)
