package convert

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/connstr"
)

// Access hands ARR what it needs to read the input and write the output: the
// container URLs and, unless the storage account is linked to the ARR account,
// short-lived container SAS tokens (read+list on input, write on output).
// SAS values only ever live in arr.SAS, which never prints them.
type Access struct {
	mode     string
	blobURL  string // blob service endpoint, no trailing slash
	expiry   time.Duration
	shared   *azblob.SharedKeyCredential // accountSas
	svc      *service.Client             // userDelegationSas
	mu       sync.Mutex
	udc      *service.UserDelegationCredential
	udcUntil time.Time
}

// NewAccess builds the access mode chosen by ARR_STORAGE_ACCESS. cred is the
// app's identity (used for user-delegation SAS); it may be nil otherwise.
func NewAccess(cfg *config.Config, cred azcore.TokenCredential) (*Access, error) {
	a := &Access{mode: cfg.StorageAccess, blobURL: cfg.BlobServiceURL, expiry: cfg.SASExpiry}
	if cfg.StorageConnectionString != "" {
		st, err := connstr.ParseStorage(cfg.StorageConnectionString)
		if err != nil {
			return nil, fmt.Errorf("setting AzureWebJobsStorage: %w", err)
		}
		if a.blobURL == "" {
			a.blobURL = st.BlobEndpoint
		}
		if a.mode == config.AccessAccountSas {
			if a.shared, err = azblob.NewSharedKeyCredential(st.AccountName, st.AccountKey); err != nil {
				return nil, fmt.Errorf("storage shared key: %w", err)
			}
		}
	}
	if a.mode == config.AccessUserDelegationSas {
		if cred == nil {
			return nil, fmt.Errorf("user-delegation SAS needs the app identity")
		}
		var err error
		if a.svc, err = service.NewClient(a.blobURL+"/", cred, nil); err != nil {
			return nil, fmt.Errorf("blob service client: %w", err)
		}
	}
	return a, nil
}

// ContainerURL returns the URL of a container.
func (a *Access) ContainerURL(container string) string { return a.blobURL + "/" + container }

// ReadList returns a read+list SAS for container (empty when linked).
func (a *Access) ReadList(ctx context.Context, container string, now time.Time) (arr.SAS, error) {
	return a.sign(ctx, container, sas.ContainerPermissions{Read: true, List: true}, now)
}

// Write returns a write SAS for container (empty when linked).
func (a *Access) Write(ctx context.Context, container string, now time.Time) (arr.SAS, error) {
	return a.sign(ctx, container, sas.ContainerPermissions{Write: true, Create: true, List: true, Read: true}, now)
}

func (a *Access) sign(ctx context.Context, container string, perms sas.ContainerPermissions, now time.Time) (arr.SAS, error) {
	v := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     now.Add(-5 * time.Minute), // clock skew between us and storage
		ExpiryTime:    now.Add(a.expiry),
		Permissions:   perms.String(),
		ContainerName: container,
	}
	switch a.mode {
	case config.AccessLinked:
		return "", nil
	case config.AccessAccountSas:
		q, err := v.SignWithSharedKey(a.shared)
		if err != nil {
			return "", fmt.Errorf("sign SAS for %s: %w", container, err)
		}
		return arr.SAS(q.Encode()), nil
	default:
		udc, err := a.delegation(ctx, now)
		if err != nil {
			return "", err
		}
		q, err := v.SignWithUserDelegation(udc)
		if err != nil {
			return "", fmt.Errorf("sign user-delegation SAS for %s: %w", container, err)
		}
		return arr.SAS(q.Encode()), nil
	}
}

// delegation returns a user-delegation key valid past the SAS expiry, asking
// storage for a new one only when the cached key would run out first.
func (a *Access) delegation(ctx context.Context, now time.Time) (*service.UserDelegationCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.udc != nil && now.Add(a.expiry).Before(a.udcUntil) {
		return a.udc, nil
	}
	until := now.Add(a.expiry + 6*time.Hour)
	udc, err := a.svc.GetUserDelegationCredential(ctx, service.KeyInfo{
		Start:  to.Ptr(now.Add(-5 * time.Minute).UTC().Format(sas.TimeFormat)),
		Expiry: to.Ptr(until.UTC().Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("get user delegation key (needs Storage Blob Delegator): %w", err)
	}
	a.udc, a.udcUntil = udc, until
	return udc, nil
}
