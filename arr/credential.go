package arr

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Credential authenticates the client to the Mixed Reality STS. It is sealed: make
// one with NewAccountKeyCredential or NewTokenCredential.
type Credential interface {
	// stsAuthorization returns the Authorization header value for the STS call.
	stsAuthorization(ctx context.Context, accountID, scope string) (string, error)
}

// AccountKeyCredential is an ARR account key. Its String, GoString and Format
// never print the key.
type AccountKeyCredential struct {
	key string
}

// NewAccountKeyCredential wraps an ARR account key (primary or secondary).
func NewAccountKeyCredential(key string) (*AccountKeyCredential, error) {
	if key == "" {
		return nil, errors.New("arr: empty account key")
	}
	return &AccountKeyCredential{key: key}, nil
}

func (c *AccountKeyCredential) stsAuthorization(_ context.Context, accountID, _ string) (string, error) {
	if c == nil || c.key == "" {
		return "", errors.New("arr: nil account key credential")
	}
	// The STS takes "<accountId>:<accountKey>" as a bearer token (as the SDKs did).
	return "Bearer " + accountID + ":" + c.key, nil
}

// String never reveals the key.
func (c *AccountKeyCredential) String() string { return "arr.AccountKeyCredential{key:REDACTED}" }

// GoString never reveals the key.
func (c *AccountKeyCredential) GoString() string { return c.String() }

// Format routes every verb through String, so %v, %+v, %#v, %s, %q and %x are safe.
func (c *AccountKeyCredential) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// TokenCredential authenticates to STS with a Microsoft Entra token (managed
// identity, workload identity, azidentity.DefaultAzureCredential, ...).
type TokenCredential struct {
	cred azcore.TokenCredential
}

// NewTokenCredential wraps an azcore.TokenCredential. The token is requested for
// scope https://sts.<accountDomain>/.default.
func NewTokenCredential(cred azcore.TokenCredential) (*TokenCredential, error) {
	if cred == nil {
		return nil, errors.New("arr: nil token credential")
	}
	return &TokenCredential{cred: cred}, nil
}

func (c *TokenCredential) stsAuthorization(ctx context.Context, _, scope string) (string, error) {
	if c == nil || c.cred == nil {
		return "", errors.New("arr: nil token credential")
	}
	tk, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", fmt.Errorf("arr: Entra token for %s: %w", scope, err)
	}
	return "Bearer " + tk.Token, nil
}

// String describes the credential without any token.
func (c *TokenCredential) String() string { return fmt.Sprintf("arr.TokenCredential{%T}", c.cred) }

// GoString describes the credential without any token.
func (c *TokenCredential) GoString() string { return c.String() }

// Format routes every verb through String.
func (c *TokenCredential) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }
