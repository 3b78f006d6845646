package arrops

// Message is one message on a queue or topic, independent of the transport
// (Service Bus, or storage queues in local mode). The field names follow
// azservicebus.Message. The functions publish Messages through their own
// Publisher interface; package notify carries them.
type Message struct {
	MessageID     string // required: the idempotency key
	Subject       string
	CorrelationID string
	ReplyTo       string
	ContentType   string
	// ApplicationProperties: strings, numbers and booleans. Through the local
	// transport they travel as JSON, so numbers come back as float64.
	ApplicationProperties map[string]any
	Body                  []byte
}
