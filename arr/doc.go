// Package arr is a client for the Azure Remote Rendering (ARR) data-plane REST API,
// api-version 2021-01-01: rendering sessions, asset conversions and the Mixed Reality
// STS token exchange that authorises them.
//
// It is built on the azcore pipeline like the azure-sdk-for-go clients: retries with
// backoff for 408/429/5xx (429 honours Retry-After up to RetryOptions.MaxRetryDelay,
// 60 s by default), a typed *ResponseError that keeps the ARR error code, message and
// MS-CV correlation header, and runtime.Pager for list operations. Every failure
// carries its arrops error code (Classify: arrops' one classification of ARR
// errors), so callers switch on arrops.ErrorCode, never on HTTP status.
//
// Authentication: ARR accepts only STS access tokens. The client exchanges either an
// account key (NewAccountKeyCredential) or a Microsoft Entra token
// (NewTokenCredential, e.g. azidentity.NewManagedIdentityCredential) for an STS token,
// caches it until about five minutes before its JWT exp, shares one fetch among
// concurrent callers, and on a 401 from ARR drops it and retries once.
//
// The retired service's quirks are decoded faithfully: every property the service may
// omit is a pointer, the 2021 service's 0/null placeholders for ports and hostname are
// treated as unknown by the helper methods (Session.Host, Session.Ports), and times are
// accepted with Z or +00:00 offsets and up to 9 fraction digits.
//
// Inputs (ids, lease minutes, sizes, storage locations) are validated before any
// request is sent, so that a bad value costs no round trip and no billing.
package arr
