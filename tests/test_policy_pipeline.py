"""The pipeline strategy: implement, review, verify, approve, complete."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    HumanApprovalGiven,
    HumanApprovalRequested,
    PlanAttached,
    PolicyDecisionApplied,
    ReviewGiven,
    ReviewRequested,
    RunFailed,
    StepAssigned,
    StepBlocked,
    StepCompleted,
    StepFailed,
    StepRetried,
    TimerSet,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
)
from playbill.runtime.model._values import (
    AgentSpec,
    Blocker,
    Check,
    Criterion,
    Failure,
    FileChanged,
    Finding,
    HumanApproval,
    PlanPayload,
    PolicySettings,
    ReviewPayload,
    StepSpec,
    TestsPass,
    VerificationPayload,
)
from policy_helpers import EX, EX2, REV, VER, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="write a", scope=("src/a.py",))
PLANNER = AgentSpec(id="boss", roles=("planner",), edits_files=False)


def test_the_whole_pipeline_of_a_step() -> None:
    d = Driver(plan(A, StepSpec(id="b", goal="after", depends_on=("a",))))
    d.start("a", "ex")
    proposed = d.propose("a", "ex")
    assert kinds(proposed) == ["timer_cancelled", "review_requested", "timer_set"]
    assert one(ReviewRequested, proposed) == ReviewRequested(step="a", attempt=1, reviewer="rev")
    assert d.recipients(ReviewRequested) == ["rev"]

    reviewed = d.review("a", "rev", "pass")
    assert kinds(reviewed)[:3] == ["timer_cancelled", "review_given", "verification_requested"]
    given = one(ReviewGiven, reviewed)
    assert (given.verdict, given.outcome, given.reviewer, given.round) == (
        "pass",
        "approved",
        "rev",
        1,
    )
    assert one(VerificationRequested, reviewed).verifier == "ver"

    verified = d.verify("a", "ver", True, True)
    assert kinds(verified)[:5] == [
        "validation_passed",
        "validation_passed",
        "timer_cancelled",
        "step_completed",
        "step_assigned",
    ]
    assert [v.validator for v in of(ValidationPassed, verified)] == ["check0", "check1"]
    assert one(StepCompleted, verified) == StepCompleted(step="a", attempt=1, summary="done")
    assert one(StepAssigned, verified).step == "b"


def test_without_a_reviewer_the_step_goes_straight_to_verification() -> None:
    d = Driver(plan(A, agents=(EX, VER)))
    assert kinds(d.propose("a", "ex")) == [
        "timer_cancelled",
        "verification_requested",
        "timer_set",
    ]


def test_the_executor_never_reviews_or_verifies_its_own_work() -> None:
    everything = AgentSpec(id="all", roles=("executor", "reviewer", "verifier"))
    d = Driver(plan(A, agents=(everything,)))
    assert kinds(d.propose("a", "all")) == ["timer_cancelled", "step_completed", "run_completed"]


def test_each_verdict_means_an_outcome() -> None:
    for verdict, outcome in [
        ("pass", "approved"),
        ("fail", "rejected"),
        ("request_changes", "changes_requested"),
        ("blocked", "replan_required"),
    ]:
        d = Driver(plan(A))
        d.propose("a", "ex")
        assert one(ReviewGiven, d.review("a", "rev", verdict)).outcome == outcome


def test_changes_requested_fail_the_attempt_and_feed_the_findings_back() -> None:
    d = Driver(plan(A), policy=PolicySettings(backoff_base_s=10.0))
    d.propose("a", "ex")
    finding = Finding(severity="major", message="quote fields", path="src/a.py", line=7)
    out = d.review("a", "rev", "request_changes", findings=(finding,))
    failed = one(StepFailed, out)
    expected = Failure(
        failure_class="validation",
        kind="changes_requested",
        detail="review: [major] src/a.py:7: quote fields",
    )
    assert failed.failure == expected
    retried = one(StepRetried, out)
    assert (retried.next_attempt, retried.backoff_s, retried.feedback) == (2, 10.0, expected)
    assert one(TimerSet, out).timer == "backoff:a#2"
    again = d.fire("backoff:a#2")
    assigned = one(StepAssigned, again)
    assert (assigned.attempt, assigned.feedback) == (2, expected)


def test_review_rounds_are_bounded() -> None:
    d = Driver(plan(A), policy=PolicySettings(max_review_rounds=2, backoff_base_s=0.0))
    d.propose("a", "ex")
    d.review("a", "rev", "fail")
    d.propose("a", "ex", attempt=2)
    out = d.review("a", "rev", "request_changes", attempt=2)
    decision = one(PolicyDecisionApplied, out)
    assert decision.action == "abort"
    assert "2 review rounds asked for changes" in decision.reason
    assert one(RunFailed, out).failure_class == "validation"


def test_a_blocked_verdict_blocks_the_step_and_asks_a_person() -> None:
    d = Driver(plan(A))
    d.propose("a", "ex")
    out = d.review(
        "a", "rev", "blocked", findings=(Finding(severity="critical", message="no API"),)
    )
    assert kinds(out)[1:5] == [
        "review_given",
        "step_failed",
        "step_blocked",
        "human_approval_requested",
    ]
    assert one(StepBlocked, out).blockers == (
        Blocker(kind="review", detail="review: [critical] no API"),
    )
    request = one(HumanApprovalRequested, out)
    assert (request.request, request.step) == ("replan:a#1", "a")
    # approving retries the step at once (a person took the time already)
    again = d.send(HumanApprovalGiven(request="replan:a#1", approved=True, by="pat"), sender="cli")
    assert kinds(again)[:3] == ["step_retried", "step_assigned", "timer_set"]
    assert one(StepRetried, again).backoff_s == 0.0


def test_rejecting_an_unblock_fails_the_run() -> None:
    d = Driver(plan(A))
    d.propose("a", "ex")
    d.review("a", "rev", "blocked")
    out = d.send(HumanApprovalGiven(request="replan:a#1", approved=False, by="pat"), sender="cli")
    assert one(RunFailed, out).reason == "pat rejected the replan of step 'a'"


def test_blocking_blockers_in_a_result_block_the_step() -> None:
    d = Driver(plan(A))
    out = d.propose("a", "ex", blockers=(Blocker(kind="missing_input", detail="which format?"),))
    assert kinds(out)[1:4] == ["step_failed", "step_blocked", "human_approval_requested"]


def test_a_failed_check_fails_the_attempt() -> None:
    d = Driver(plan(A), policy=PolicySettings(backoff_base_s=0.0))
    d.propose("a", "ex")
    d.review("a", "rev", "pass")
    out = d.verify("a", "ver", True, False)
    assert kinds(out)[:4] == [
        "validation_passed",
        "validation_failed",
        "timer_cancelled",
        "step_failed",
    ]
    assert one(ValidationFailed, out).validator == "check1"
    assert one(StepFailed, out).failure.kind == "check_failed"
    assert one(StepRetried, out).failure_class == "validation"


def test_a_verifier_that_runs_no_check_fails_a_step_with_validators() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x", validators=(TestsPass(),))))
    d.propose("a", "ex")
    d.review("a", "rev", "pass")
    out = d.verify("a", "ver")
    assert one(ValidationFailed, out).failure.kind == "no_checks"
    assert one(StepFailed, out).failure.kind == "no_checks"


def test_validators_nobody_can_check_fail_closed() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x", validators=(TestsPass(),)), agents=(EX, REV)))
    d.propose("a", "ex")
    out = d.review("a", "rev", "pass")
    failure = one(StepFailed, out).failure
    assert (failure.failure_class, failure.kind) == ("policy", "unverifiable")
    assert one(RunFailed, out).failure_class == "policy"  # policy failures are never retried


def test_the_only_verifier_is_not_given_the_work_it_would_verify() -> None:
    both = AgentSpec(id="both", roles=("executor", "verifier"))
    d = Driver(plan(StepSpec(id="a", goal="x", validators=(TestsPass(),)), agents=(both, EX)))
    assert one(StepAssigned, d.first).agent == "ex"


def test_a_bad_report_is_asked_of_another_helper_never_the_same_again() -> None:
    rev2 = AgentSpec(id="rev2", roles=("reviewer",), edits_files=False)
    d = Driver(plan(A, agents=(EX, REV, rev2)))
    d.propose("a", "ex")
    out = d.propose("a", "rev", payload=VerificationPayload(), role="reviewer")
    assert one(ReviewRequested, out).reviewer == "rev2"
    out = d.propose(
        "a", "rev2", exit_status="error", payload=ReviewPayload(verdict="pass"), role="reviewer"
    )
    failure = one(StepFailed, out).failure
    assert (failure.failure_class, failure.kind) == ("agent", "review_failed")


def test_human_approval_validators_ask_a_person_after_verification() -> None:
    step = StepSpec(id="a", goal="x", validators=(HumanApproval(prompt="ship it?"),))
    d = Driver(plan(step, agents=(EX, VER)))
    d.propose("a", "ex")
    out = d.verify("a", "ver", True)
    request = one(HumanApprovalRequested, out)
    assert (request.request, request.prompt, request.step) == (
        "approve:a#1:human_approval",
        "ship it?",
        "a",
    )
    assert d.state.status == "running"  # waiting on a person is not the end
    done = d.send(
        HumanApprovalGiven(request=request.request, approved=True, by="pat"), sender="cli"
    )
    assert kinds(done) == ["validation_passed", "step_completed", "run_completed"]
    assert one(ValidationPassed, done).validator == "human_approval"


def test_a_rejected_approval_is_a_policy_failure_and_is_not_retried() -> None:
    step = StepSpec(id="a", goal="x", validators=(HumanApproval(),))
    d = Driver(plan(step, agents=(EX,)), policy=PolicySettings(on_exhausted="skip"))
    out = d.propose("a", "ex")
    request = one(HumanApprovalRequested, out).request
    out = d.send(
        HumanApprovalGiven(request=request, approved=False, by="pat", reason="ugly"), sender="cli"
    )
    failure = one(StepFailed, out).failure
    assert (failure.failure_class, failure.kind, failure.detail) == (
        "policy",
        "rejected_by_human",
        "pat rejected it: ugly",
    )
    assert not of(StepRetried, out)
    assert one(PolicyDecisionApplied, out).action == "skip"
    assert kinds(out)[-2:] == ["step_skipped", "run_completed"]


def test_a_planner_step_merges_its_proposal_into_the_plan() -> None:
    first = StepSpec(id="plan", goal="plan it", role="planner")
    kept = StepSpec(id="later", goal="kept as is", depends_on=("plan",))
    d = Driver(plan(first, kept, agents=(PLANNER, EX, EX2)))
    proposal = PlanPayload(
        steps=(StepSpec(id="new", goal="added", depends_on=("plan",)),),
        criteria=(Criterion(id="c", description="works"),),
    )
    out = d.propose("plan", "boss", payload=proposal)
    merged = one(PlanAttached, out).plan
    assert [s.id for s in merged.steps] == ["plan", "later", "new"]
    assert merged.steps[1] == kept
    assert [c.id for c in merged.criteria] == ["c"]
    assert kinds(out)[2] == "step_completed"
    assert [m.step for m in of(StepAssigned, out)] == ["later", "new"]


def test_a_proposal_that_breaks_the_plans_rules_fails_only_the_planners_attempt() -> None:
    first = StepSpec(id="plan", goal="plan it", role="planner")
    kept = StepSpec(id="later", goal="kept as is", depends_on=("plan",))
    d = Driver(plan(first, kept, agents=(PLANNER, EX, EX2)))
    proposal = PlanPayload(
        steps=(
            StepSpec(id="later", goal="would replace it"),
            StepSpec(id="dangling", goal="x", depends_on=("nope",), scope=("/etc/**", "../x/**")),
            StepSpec(id="a", goal="x", depends_on=("b",)),
            StepSpec(id="b", goal="x", depends_on=("a",)),
            StepSpec(id="judge", goal="x", role="reviewer"),
            StepSpec(
                id="checked",
                goal="x",
                validators=(TestsPass(cwd="/tmp"), FileChanged(path="../x")),
            ),
        ),
    )
    out = d.propose("plan", "boss", payload=proposal)
    failure = one(StepFailed, out).failure
    assert (failure.failure_class, failure.kind) == ("validation", "bad_plan")
    for problem in (
        "steps[0].id: step 'later' is already in the plan",
        "steps[1].depends_on[0]: unknown step 'nope'",
        "steps[1].scope[0]: expected a glob inside the repository, got '/etc/**' (an absolute",
        "steps[1].scope[1]: expected a glob inside the repository, got '../x/**' (a '..' segment",
        "steps[2].depends_on: dependency cycle: a -> b -> a",
        "steps[4].role: no agent of the plan is a reviewer",
        "steps[5].validators[0].cwd: expected a directory inside the repository, got '/tmp'",
        "steps[5].validators[1].path: expected a glob inside the repository, got '../x'",
    ):
        assert problem in failure.detail
    assert of(PlanAttached, out) == [] and of(RunFailed, out) == []
    assert [s for s in d.state.steps] == ["plan", "later"]
    retried = one(StepAssigned, d.fire("backoff:plan#2"))
    assert retried.step == "plan" and retried.attempt == 2 and retried.feedback == failure


def test_a_result_with_the_wrong_payload_is_the_agents_failure() -> None:
    d = Driver(plan(A, agents=(EX, EX2)))
    out = d.propose("a", "ex", payload=PlanPayload())
    failure = one(StepFailed, out).failure
    assert (failure.failure_class, failure.kind) == ("agent", "malformed_output")
    assert one(PolicyDecisionApplied, out).new_agent == "ex2"
    assert one(StepAssigned, out).agent == "ex2"


def test_a_verifier_step_is_checked_by_its_own_checks() -> None:
    step = StepSpec(id="v", goal="run it all", role="verifier", validators=(TestsPass(),))
    d = Driver(plan(step, agents=(VER,)))
    payload = VerificationPayload(checks=(Check(name="tests_pass", passed=True),))
    out = d.propose("v", "ver", payload=payload)
    assert kinds(out) == ["validation_passed", "timer_cancelled", "step_completed", "run_completed"]


def test_criteria_checked_by_a_step_are_met_by_it_others_are_put_to_a_person() -> None:
    tests = TestsPass(argv=("pytest",))
    step = StepSpec(id="a", goal="x", role="verifier", validators=(tests,))
    criteria = (
        Criterion(id="green", description="tests pass", validator=tests),
        Criterion(id="fast", description="it is fast", validator=TestsPass(argv=("bench",))),
        Criterion(id="nice", description="no validator"),
    )
    d = Driver(plan(step, agents=(VER,), criteria=criteria))
    payload = VerificationPayload(checks=(Check(name="tests_pass", passed=True),))
    out = d.propose("a", "ver", payload=payload)
    assert kinds(out)[-2:] == ["criterion_met", "human_approval_requested"]
    assert one(HumanApprovalRequested, out).request == "criterion:fast"
    done = d.send(
        HumanApprovalGiven(request="criterion:fast", approved=True, by="pat"), sender="cli"
    )
    assert kinds(done) == ["criterion_met", "run_completed"]
