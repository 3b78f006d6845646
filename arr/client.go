package arr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

const (
	// APIVersion is the ARR data-plane version this client speaks.
	APIVersion    = "2021-01-01"
	moduleName    = "github.com/arrops/arrops/arr"
	moduleVersion = "v0.1.0"

	defaultStandardPoll   = 2 * time.Second
	defaultPremiumPoll    = 10 * time.Second
	defaultConversionPoll = 10 * time.Second
	defaultMaxRetryDelay  = 60 * time.Second
)

// ClientOptions configures a Client. The zero value is usable.
type ClientOptions struct {
	azcore.ClientOptions

	// AccountDomain is the ARR account domain, e.g. "eastus.mixedreality.azure.com".
	// Default: derived from an endpoint "https://remoterendering.<region>.mixedreality.azure.com".
	AccountDomain string

	// STSEndpoint overrides the token service, default "https://sts.<AccountDomain>".
	// The simulator serves STS on its own address.
	STSEndpoint string

	// Poll intervals of WaitForSession (Standard, Premium) and WaitForConversion;
	// defaults 2 s, 10 s and 10 s, the SDKs' values.
	StandardSessionPollInterval time.Duration
	PremiumSessionPollInterval  time.Duration
	ConversionPollInterval      time.Duration
}

// Client calls the ARR REST API for one account. It is safe for concurrent use.
type Client struct {
	endpoint  string
	host      string
	accountID string
	pl        runtime.Pipeline
	sts       *stsTokenSource

	standardPoll, premiumPoll, conversionPoll time.Duration
}

// NewClient returns a client for endpoint (e.g. "https://remoterendering.eastus.mixedreality.azure.com")
// and the account with id accountID, authenticating with cred (see
// NewAccountKeyCredential and NewTokenCredential). opts may be nil.
//
// Retries: unless opts.Retry says otherwise, 408/429/500/502/503/504 and transport
// errors are retried 3 times with exponential backoff from 800 ms; a Retry-After
// header is honoured up to MaxRetryDelay (60 s): a longer one is returned to the
// caller as the 429 *ResponseError. Bound calls with ctx (or
// set Retry.TryTimeout): no per-try timeout is imposed by default, because the
// functions host already bounds each invocation and a per-try timer costs on every call.
func NewClient(endpoint, accountID string, cred Credential, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if cred == nil {
		return nil, errors.New("arr: nil credential")
	}
	if err := ValidateID("account id", accountID); err != nil {
		return nil, err
	}
	ep, err := parseEndpoint("endpoint", endpoint, o.InsecureAllowCredentialWithHTTP)
	if err != nil {
		return nil, err
	}
	if o.AccountDomain == "" {
		o.AccountDomain, err = accountDomainFromEndpoint(ep)
		if err != nil {
			return nil, err
		}
	}
	stsEP := o.STSEndpoint
	if stsEP == "" {
		stsEP = "https://sts." + o.AccountDomain
	}
	stsURL, err := parseEndpoint("STS endpoint", stsEP, o.InsecureAllowCredentialWithHTTP)
	if err != nil {
		return nil, err
	}
	if o.Retry.MaxRetryDelay == 0 {
		o.Retry.MaxRetryDelay = defaultMaxRetryDelay
	}
	o.Logging.AllowedHeaders = append(o.Logging.AllowedHeaders, "MS-CV", "Retry-After", "api-supported-versions")
	o.Logging.AllowedQueryParams = append(o.Logging.AllowedQueryParams, "api-version")

	stsPL := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{}, &o.ClientOptions)
	src := newSTSTokenSource(stsPL, strings.TrimRight(stsURL.String(), "/"), accountID, o.AccountDomain, cred)
	pl := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{
		PerRetry: []policy.Policy{&authPolicy{src: src}},
	}, &o.ClientOptions)

	c := &Client{
		endpoint:       strings.TrimRight(ep.String(), "/"),
		host:           ep.Host,
		accountID:      accountID,
		pl:             pl,
		sts:            src,
		standardPoll:   orDefault(o.StandardSessionPollInterval, defaultStandardPoll),
		premiumPoll:    orDefault(o.PremiumSessionPollInterval, defaultPremiumPoll),
		conversionPoll: orDefault(o.ConversionPollInterval, defaultConversionPoll),
	}
	return c, nil
}

// AccountID is the ARR account the client works on.
func (c *Client) AccountID() string { return c.accountID }

// Endpoint is the ARR service endpoint.
func (c *Client) Endpoint() string { return c.endpoint }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// parseEndpoint accepts https, or http for loopback hosts (the simulator) or when
// the caller explicitly allows credentials over plain HTTP.
func parseEndpoint(what, s string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("arr: %s %q is not an absolute http(s) URL", what, truncate(s, 128))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("arr: %s must not have a query, fragment or user info", what)
	}
	if u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("arr: %s %q: tokens are only sent over https (or http to a loopback address)", what, u.Host)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func accountDomainFromEndpoint(u *url.URL) (string, error) {
	const prefix = "remoterendering."
	h := strings.ToLower(u.Hostname())
	if !strings.HasPrefix(h, prefix) || strings.Count(h, ".") < 3 {
		return "", fmt.Errorf("arr: cannot derive the account domain from endpoint host %q: set ClientOptions.AccountDomain", h)
	}
	return strings.TrimPrefix(h, prefix), nil
}

func (c *Client) accountPath() string {
	return c.endpoint + "/accounts/" + url.PathEscape(c.accountID)
}

// send issues one ARR call and returns the response if its status is in ok;
// otherwise it returns a *ResponseError.
func (c *Client) send(ctx context.Context, method, u string, body any, ok ...int) (*http.Response, error) {
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return nil, err
	}
	raw := req.Raw()
	switch q := raw.URL.RawQuery; {
	case q == "":
		raw.URL.RawQuery = "api-version=" + APIVersion
	case !strings.Contains(q, "api-version="):
		raw.URL.RawQuery = q + "&api-version=" + APIVersion
	}
	raw.Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return nil, err
		}
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, ok...) {
		return nil, newResponseError(resp)
	}
	return resp, nil
}

// resolveNextLink turns an @nextLink into an absolute URL on the client's own
// endpoint: the auth policy attaches the STS token, so a link to any other host is
// refused rather than followed.
func (c *Client) resolveNextLink(link string) (string, error) {
	base, _ := url.Parse(c.endpoint + "/")
	ref, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("arr: malformed @nextLink: %w", err)
	}
	u := base.ResolveReference(ref)
	if u.Host != c.host || u.Scheme != base.Scheme {
		return "", fmt.Errorf("arr: @nextLink points to another host (%s), refusing to send credentials there", u.Host)
	}
	return u.String(), nil
}
