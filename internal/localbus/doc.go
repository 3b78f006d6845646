// Package localbus defines the envelope that carries a Service Bus message on an
// Azure Storage queue when arrops runs locally (Azurite instead of a Service Bus
// namespace).
//
// Three programs must agree on it: the handler's local publisher (notify), the
// operator CLI (arrctl) that sends commands, and devhost, which turns an envelope
// back into a serviceBusTrigger invocation with Service Bus metadata. Keeping the
// type here, with no dependencies, is what makes them agree.
//
// On the queue the message text is the envelope's JSON, or the standard base64 of
// that JSON (what the Functions host's default "base64" queue encoding expects);
// Decode accepts both.
package localbus
