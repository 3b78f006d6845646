// Command arrctl is the operator's command line for arrops: it sends session
// commands the way other apps do (a message on arr-commands with a ReplyTo),
// lists the session and conversion records, prints the usage report with the
// same numbers as the HTTP report, and follows a session's record.
//
// It reads the same settings as the handler: the environment first, then the
// Values of ./local.settings.json (flag --settings), so after `make run` it
// talks to the local stack without further setup.
//
//	arrctl [--settings FILE] <command> [flags]
//
//	start [--session-id ID] [--size Standard|Premium] [--lease MIN] [--requested-by NAME]
//	      [--tag k=v]... [--timeout 15m] [--no-wait]
//	stop ID [--timeout 2m]
//	extend ID --lease MIN [--timeout 2m]
//	sessions [--status S] [--requester R] [--from DATE] [--to DATE] [--format table|json|csv]
//	conversions [--status S] [--from DATE] [--to DATE] [--format table|json|csv]
//	report [--from DATE] [--to DATE] [--group-by requester|size|day|tag:KEY] [--format table|json|csv]
//	watch ID [--interval 2s]
//
// Replies: with Service Bus configured, commands carry ReplyTo "arrctl-replies"
// (a queue the deployment provides) and arrctl takes only the messages whose
// CorrelationId is its command's MessageId, abandoning the others for the
// arrctl that waits for them. In local mode (no Service Bus settings) commands
// travel as localbus envelopes on the Azurite queue arr-commands, and each run
// creates a private reply queue arrctl-<random> that it deletes when it ends.
//
// Progress goes to stderr: a spinner with the elapsed time and the last status
// when stderr is a terminal, one plain line per status change otherwise.
// Results go to stdout. Errors are one line on stderr.
//
// Exit codes:
//
//	0  success
//	1  operational failure: timeout, storage, ARR or messaging error, session ended in error
//	2  usage error: unknown command, bad flag or value, invalid settings file
//	3  command rejected by arrops (the reply's outcome is "rejected")
package main
