// Package arrops holds the domain types of arrops: sessions, conversions, the
// command messages other apps send, audit rows, events and their statuses.
//
// It imports nothing outside the standard library. Packages named after what
// they wrap (arr for the ARR REST API, store for Table Storage, notify for
// Service Bus, trigger for the Functions host payloads) translate between these
// types and the outside world; the functions under functions/ combine them.
package arrops
