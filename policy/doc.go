// Package policy is the shutdown policy engine: pure decision logic with no
// I/O. Given the clock, the shutdown settings, the active sessions (records
// joined with ARR's list, adopted ones included) and today's finished
// sessions, Evaluate says for every active session whether to stop it now,
// warn its requester that a stop is coming, or leave it alone.
//
// Policies, in the order used to pick the one named when several are due
// (most specific first):
//
//   - absoluteMax: SHUTDOWN_ABSOLUTE_MAX_MINUTES after Ready. The only policy
//     that stops keepAlive=true sessions and the only one an extend cannot
//     postpone.
//   - maxReadyMinutes: SHUTDOWN_MAX_READY_MINUTES after Ready, postponed to
//     Session.ExtendedUntil. Starting sessions (no ReadyAt) are not subject.
//   - dailyBudget: SHUTDOWN_DAILY_BUDGET_MINUTES per requester and calendar
//     day in SHUTDOWN_TIME_ZONE. Usage is the billed minutes (Ready to stop,
//     or to now) of finished and running sessions, clipped to today. When
//     usage reaches the budget (>=), all of that requester's active sessions
//     stop, Starting ones too: they would bill next. An extend does not help.
//     Sessions without a requester (adopted from the portal or scripts) share
//     one budget under the empty name: they are the sessions nobody watches,
//     and exempting them would leave the cost cap with a hole exactly there.
//   - quietWeekend, quietHours: Saturdays and Sundays, and the daily
//     SHUTDOWN_QUIET_HOURS window, judged on the wall clock of
//     SHUTDOWN_TIME_ZONE, so windows crossing midnight and DST days behave as
//     a person reading a wall clock there expects (a window start that does
//     not exist on a spring-forward day begins at the first existing instant
//     after it; a repeated fall-back hour is quiet both times). Postponed to
//     Session.ExtendedUntil. Starting sessions are covered.
//
// keepAlive=true sessions are exempt from everything but absoluteMax; their
// minutes still count toward their requester's budget.
//
// Warnings: when the earliest upcoming stop is at most SHUTDOWN_WARNING_MINUTES
// away and no warning was sent for that stop time, the decision is Warn. A
// warning counts as sent for StopAt when Session.WarnedAt lies in
// [StopAt-WarningMinutes-1min, StopAt): an extend that moves StopAt later moves
// the window past the old WarnedAt and the warning is sent again, while the
// minute of slack absorbs the drift of the budget's estimated stop time
// between sweeps.
//
// In dry-run mode the decisions are the same and carry DryRun; the caller
// records "would stop" instead of stopping.
package policy
