package arrops

// Fixed entity names. They are part of the deployment contract (function.json
// bindings and Bicep declare the same names), so they are constants, not
// settings; the adapters default to them and config re-exports them.
const (
	CommandsQueue    = "arr-commands"
	EventsTopic      = "arr-events"
	BlobCreatedQueue = "arr-blob-created"
	// DueQueue carries arrops' delayed messages to itself (follow-up sweeps,
	// policy deadlines): functions/due is its trigger.
	DueQueue         = "arr-due"
	SessionsTable    = "ArrSessions"
	ConversionsTable = "ArrConversions"
	CommandsTable    = "ArrCommands"
)
